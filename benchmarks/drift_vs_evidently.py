"""Drift report, Bastion vs Evidently's DataDriftPreset, same data, same run.

Data: N rows × 20 columns (12 numeric with different shapes, 8 categorical),
written as Parquet (row groups of 100k); the current window has drift injected
into 3 columns.  Every measurement is a fresh subprocess, timed from inside
(data loading included) with its peak RSS from ``ru_maxrss``.

* ``bastion-profile``: stream the reference into a JSON profile (once per reference).
* ``bastion-drift``: stream the current data against the saved profile — the
  recurring monitoring job; its memory should not grow with the current size.
* ``bastion-full``: profile + drift from the raw files (like-for-like with Evidently).
* ``evidently``: ``Report([DataDriftPreset()]).run(current, reference)`` on pandas
  frames read from the same Parquet files.

Evidently 0.7 does not import under pandas 3 (Bastion's environment), so it runs
in its own interpreter: ``--evidently-python`` (e.g. a venv made with
``python -m venv /tmp/evenv && /tmp/evenv/bin/pip install evidently 'pandas<3' pyarrow``).

    python benchmarks/drift_vs_evidently.py --rows 1000000 --stream-rows 10000000 \\
        --evidently-python /tmp/evenv/bin/python --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

NUMERIC = 12
CATEGORICAL = 8
DRIFTED = ("num_0", "num_5", "cat_2")
ROW_GROUP = 100_000


def make_chunk(rng: Any, rows: int, drift: bool) -> Any:
    import numpy as np
    import pandas as pd

    columns: dict[str, Any] = {}
    for i in range(NUMERIC):
        kind = i % 4
        if kind == 0:
            values = rng.normal(10 * i, 1 + i, rows)
        elif kind == 1:
            values = rng.lognormal(2, 0.6, rows)
        elif kind == 2:
            values = rng.exponential(3 + i, rows)
        else:
            values = rng.uniform(-i, i + 5, rows)
        columns[f"num_{i}"] = values
    for i in range(CATEGORICAL):
        levels = [f"v{j}" for j in range(3 + 2 * i)]
        weights = np.linspace(1, 3, len(levels))
        columns[f"cat_{i}"] = rng.choice(levels, rows, p=weights / weights.sum())
    frame = pd.DataFrame(columns)
    if drift:
        frame["num_0"] = frame["num_0"] + 0.5 * frame["num_0"].std()
        frame["num_5"] = frame["num_5"] * 1.4
        frame.loc[rng.random(rows) < 0.3, "cat_2"] = "v0"
    return frame


def write_parquet(path: Path, rows: int, seed: int, drift: bool) -> None:
    """Write ``rows`` rows in row groups without holding the whole table."""
    if path.exists():
        return
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    writer = None
    done = 0
    while done < rows:
        size = min(ROW_GROUP, rows - done)
        table = pa.Table.from_pandas(make_chunk(rng, size, drift), preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table)
        done += size
    assert writer is not None
    writer.close()
    tmp.rename(path)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    reference, current = Path(args.reference), Path(args.current)
    if args.worker == "evidently":
        import pandas as pd
        from evidently import Report
        from evidently.presets import DataDriftPreset

        ref = pd.read_parquet(reference)
        cur = pd.read_parquet(current)
        snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
        metrics = snapshot.dict()["metrics"]
        drifted = sorted(
            m["config"]["column"]
            for m in metrics
            if m["config"].get("type", "").endswith("ValueDrift")
            and float(m["value"]) >= float(m["config"]["threshold"])
        )
    else:
        from bastion.monitor import Profile, compare, profile_reference, summarize_window

        profile_path = Path(args.profile)
        if args.worker in ("bastion-profile", "bastion-full"):
            profile = profile_reference(reference)
            profile.save(profile_path)
            if args.worker == "bastion-profile":
                return {
                    "seconds": time.perf_counter() - started,
                    "peak_mb": peak_mb(),
                    "drifted": [],
                }
        profile = Profile.load(profile_path)
        report = compare(profile, summarize_window(profile, current))
        drifted = sorted(report.drifted)
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_mb(), "drifted": drifted}


def run_worker(
    python: str, mode: str, reference: Path, current: Path, profile: Path
) -> dict[str, Any]:
    env = dict(os.environ, DO_NOT_TRACK="1", EVIDENTLY_DISABLE_TELEMETRY="1")
    out = subprocess.run(
        [
            python,
            __file__,
            "--worker",
            mode,
            "--reference",
            str(reference),
            "--current",
            str(current),
            "--profile",
            str(profile),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def median_of(python: str, mode: str, repeat: int, *paths: Path) -> dict[str, Any]:
    runs = [run_worker(python, mode, *paths) for _ in range(repeat)]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_mb": statistics.median(r["peak_mb"] for r in runs),
        "drifted": runs[0]["drifted"],
        "runs": len(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="reference and current rows")
    parser.add_argument(
        "--stream-rows",
        type=int,
        default=0,
        help="also stream a current file this big (Bastion only)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bastion-drift-bench"))
    parser.add_argument("--evidently-python", default=sys.executable)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    parser.add_argument("--current", help=argparse.SUPPRESS)
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    reference = args.workdir / f"reference-{args.rows}.parquet"
    current = args.workdir / f"current-{args.rows}.parquet"
    profile = args.workdir / f"profile-{args.rows}.json"
    write_parquet(reference, args.rows, seed=1, drift=False)
    write_parquet(current, args.rows, seed=2, drift=True)
    print(
        f"# {args.rows:,} rows × {NUMERIC + CATEGORICAL} columns; "
        f"drift injected into {', '.join(DRIFTED)}"
    )
    print(
        f"# machine: {os.cpu_count()} cores, shared with other work; medians of {args.repeat} runs"
    )
    results: dict[str, dict[str, Any]] = {}
    results["bastion-profile"] = median_of(
        sys.executable, "bastion-profile", args.repeat, reference, current, profile
    )
    results["bastion-drift"] = median_of(
        sys.executable, "bastion-drift", args.repeat, reference, current, profile
    )
    results["bastion-full"] = median_of(
        sys.executable, "bastion-full", args.repeat, reference, current, profile
    )
    if not args.skip_evidently:
        results["evidently"] = median_of(
            args.evidently_python, "evidently", args.repeat, reference, current, profile
        )
    if args.stream_rows:
        big = args.workdir / f"current-{args.stream_rows}.parquet"
        write_parquet(big, args.stream_rows, seed=3, drift=True)
        results[f"bastion-drift-{args.stream_rows}"] = median_of(
            sys.executable, "bastion-drift", 1, reference, big, profile
        )
    print(f"{'run':<28}{'seconds':>10}{'peak MB':>10}  drifted")
    for name, r in results.items():
        print(f"{name:<28}{r['seconds']:>10.2f}{r['peak_mb']:>10.0f}  {','.join(r['drifted'])}")
    if "evidently" in results:
        ev = results["evidently"]
        for mode in ("bastion-full", "bastion-drift"):
            b = results[mode]
            print(
                f"evidently / {mode}: {ev['seconds'] / b['seconds']:.1f}x time, "
                f"{ev['peak_mb'] / b['peak_mb']:.1f}x peak memory"
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()

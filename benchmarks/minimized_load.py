"""Minimized load (10 of 40 columns) vs pandas reading the whole file then dropping columns.

Each measurement runs in its own subprocess so peak memory (ru_maxrss) is per case.
Cases, CSV and Parquet from the same synthetic data:

* ``bastion``      — ``bastion.pipeline.read_minimized`` (+ conversion to pandas): reads only
                      the purpose's columns and hashes every byte of the file (fingerprint).
* ``pandas-all``   — ``pandas.read_csv`` / ``read_parquet`` of the whole file, then drop.
* ``pandas-usecols`` — pandas told the columns up front (the fair "pandas done right" peer).

Usage::

    python benchmarks/minimized_load.py --size-mb 300 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_COLUMNS = 40
KEEP = [f"c{i:02d}" for i in range(0, N_COLUMNS, 4)]  # 10 of 40


def _spec_text(data: str, fmt: str) -> str:
    columns = "\n".join(
        f"  c{i:02d}: {{class: feature, dtype: {_dtype(i)}}}" for i in range(N_COLUMNS)
    )
    allowed = ", ".join(f"{name}: keep" for name in KEEP)
    return (
        f"version: 1\nname: bench\nsource: {{path: {data}, format: {fmt}}}\n"
        f"columns:\n{columns}\npurposes:\n  training:\n    columns: {{{allowed}}}\n"
    )


def _dtype(i: int) -> str:
    return ("integer", "float", "string", "float")[i % 4]


def generate(directory: Path, size_mb: int) -> tuple[Path, Path]:
    """Write a CSV of about ``size_mb`` MB and the same data as Parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv_path, parquet_path = directory / "data.csv", directory / "data.parquet"
    rng = np.random.default_rng(0)
    words = np.array(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"])
    rows_per_batch = 50_000
    target = size_mb * 1_000_000
    writer: pq.ParquetWriter | None = None
    with csv_path.open("wb") as sink:
        first = True
        while sink.tell() < target:
            arrays = []
            for i in range(N_COLUMNS):
                kind = _dtype(i)
                if kind == "integer":
                    arrays.append(pa.array(rng.integers(0, 1_000_000, rows_per_batch)))
                elif kind == "float":
                    arrays.append(pa.array(np.round(rng.normal(0, 1000, rows_per_batch), 3)))
                else:
                    picks = words[rng.integers(0, len(words), rows_per_batch)]
                    arrays.append(
                        pa.array(picks + rng.integers(0, 999, rows_per_batch).astype(str))
                    )
            table = pa.table(arrays, names=[f"c{i:02d}" for i in range(N_COLUMNS)])
            pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=first))
            first = False
            if writer is None:
                writer = pq.ParquetWriter(parquet_path, table.schema)
            writer.write_table(table)
    assert writer is not None
    writer.close()
    for path, fmt in ((csv_path, "csv"), (parquet_path, "parquet")):
        (directory / f"{fmt}.spec.yaml").write_text(_spec_text(path.name, fmt))
    return csv_path, parquet_path


def run_case(case: str, fmt: str, directory: Path) -> dict[str, float]:
    """Body of one subprocess: load, then report wall time and peak RSS."""
    import pandas as pd

    from bastion.pipeline import load_spec, read_minimized
    from bastion.pipeline.loading import _to_frame

    data = directory / ("data.csv" if fmt == "csv" else "data.parquet")
    # Every case imports the same modules first; the load's own memory is peak minus this.
    after_imports_mb = _current_rss_mb()
    start = time.perf_counter()
    if case == "bastion":
        spec = load_spec(directory / f"{fmt}.spec.yaml")
        table, _digest = read_minimized(spec, spec.purpose("training"))
        frame = _to_frame(table)
    elif case == "pandas-all":
        whole = pd.read_csv(data) if fmt == "csv" else pd.read_parquet(data)
        frame = whole[KEEP]
        del whole
    else:
        frame = (
            pd.read_csv(data, usecols=KEEP) if fmt == "csv" else pd.read_parquet(data, columns=KEEP)
        )
    elapsed = time.perf_counter() - start
    assert list(frame.columns) == KEEP
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": elapsed,
        "peak_mb": peak_mb,
        "load_mb": peak_mb - after_imports_mb,
        "rows": float(len(frame)),
    }


def _current_rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / (1024 * 1024)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=300, help="CSV size to generate (MB)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="reuse/keep data here")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.format, args.dir)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.dir or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        if not (directory / "data.parquet").exists():
            generate(directory, args.size_mb)
        csv_mb = (directory / "data.csv").stat().st_size / 1e6
        pq_mb = (directory / "data.parquet").stat().st_size / 1e6
        print(
            f"CSV {csv_mb:.0f} MB, Parquet {pq_mb:.0f} MB, {N_COLUMNS} columns, reading {len(KEEP)}"
        )
        results: dict[tuple[str, str], list[dict[str, float]]] = {}
        for _ in range(args.repeats):
            for fmt in ("csv", "parquet"):
                for case in ("bastion", "pandas-all", "pandas-usecols"):
                    argv = [sys.executable, __file__, "--case", case, "--format", fmt]
                    out = subprocess.run(
                        [*argv, "--dir", str(directory)], check=True, capture_output=True, text=True
                    )
                    results.setdefault((fmt, case), []).append(json.loads(out.stdout))
        print("| format | case | median s | peak RSS MB | load MB (peak − after imports) |", end="")
        print(" time vs pandas-all | load memory vs pandas-all |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for fmt in ("csv", "parquet"):
            base_t = statistics.median(r["seconds"] for r in results[(fmt, "pandas-all")])
            base_m = statistics.median(r["load_mb"] for r in results[(fmt, "pandas-all")])
            for case in ("bastion", "pandas-all", "pandas-usecols"):
                t = statistics.median(r["seconds"] for r in results[(fmt, case)])
                p = statistics.median(r["peak_mb"] for r in results[(fmt, case)])
                m = statistics.median(r["load_mb"] for r in results[(fmt, case)])
                print(f"| {fmt} | {case} | {t:.2f} | {p:.0f} | {m:.0f} |", end="")
                print(f" {t / base_t:.2f}× | {m / base_m:.2f}× |")


if __name__ == "__main__":
    main()

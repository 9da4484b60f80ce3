"""Throughput and peak memory of ``bastion privacy deid`` as the input grows.

Generates CSV files of synthetic clinical notes (Faker values in note templates)
at two sizes, runs the real command on each in a subprocess, and samples the RSS
of the whole process tree (the CLI plus its worker processes) to find the peak.
Flat peak memory across sizes shows the streaming works; MB/s is input bytes over
wall time.  The peer is the naive approach: ``pandas.read_csv`` of the whole file,
then the same operators cell by cell, then ``to_csv``.

    .venv/bin/python benchmarks/deid_throughput.py --size-mb 2 --size-mb 8 --workers 2
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import time
from pathlib import Path

import psutil
from faker import Faker

ROOT = Path(__file__).resolve().parents[1]
BASTION = [sys.executable, "-m", "bastion"]

TEMPLATES = (
    "Patient {name} (MRN {mrn}) seen on {date} for follow-up of hypertension. "
    "Lives at {street}, {city}. Call {phone} or e-mail {email} with lab results.",
    "{name}, {age} y/o, presented {date} with chest pain. Spouse {name2} reachable at "
    "{phone}. SSN {ssn} on file. Discharged to home in {city}.",
    "Telehealth visit {date}: {name} reports improved sleep. Follow-up with Dr. {last} "
    "in 2 weeks. Portal message from {email}.",
)

NAIVE = """
import sys, pandas as pd
from bastion.privacy.batch import engine_for
from bastion.privacy.transform import anonymize, parse_policy
engine, policy = engine_for(sys.argv[3]), parse_policy("default: replace")
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
frame["notes"] = [anonymize(t, engine.analyze(t), policy).text for t in frame["notes"]]
frame.to_csv(sys.argv[2], index=False)
"""


class RegexEngine:
    """A fast stand-in detector (e-mail, phone, SSN, ISO date) to time the batch machinery."""

    def __init__(self) -> None:
        import re

        self._pattern = re.compile(
            r"(?P<EMAIL_ADDRESS>[\w.+-]+@[\w-]+\.[\w.]+)|(?P<PHONE_NUMBER>\b\d{3}-\d{3}-\d{4}\b)"
            r"|(?P<US_SSN>\b\d{3}-\d{2}-\d{4}\b)|(?P<DATE_TIME>\b\d{4}-\d{2}-\d{2}\b)"
        )

    def analyze(self, text: str, entities: object = None) -> list[object]:
        from bastion.privacy.detect.span import Span

        return [
            Span(m.start(), m.end(), str(m.lastgroup), 1.0) for m in self._pattern.finditer(text)
        ]


def regex_engine() -> RegexEngine:
    return RegexEngine()


def generate(path: Path, size_mb: float, seed: int = 7) -> int:
    """Write a notes CSV of about ``size_mb`` MB; returns rows written."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    pool = []
    for _ in range(2000):
        template = rng.choice(TEMPLATES)
        pool.append(
            template.format(
                name=fake.name(),
                name2=fake.name(),
                last=fake.last_name(),
                mrn=fake.numerify("#######"),
                date=fake.date(pattern=rng.choice(["%Y-%m-%d", "%m/%d/%Y", "%B %d, %Y"])),
                street=fake.street_address(),
                city=fake.city(),
                phone=fake.numerify("###-###-####"),
                email=fake.email(),
                age=rng.randint(18, 99),
                ssn=fake.numerify("###-##-####"),
            )
        )
    target = int(size_mb * 1024 * 1024)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient_id", "visit", "notes"])
        while handle.tell() < target:
            writer.writerow([f"P{rows % 5000}", str(rows), pool[rows % len(pool)]])
            rows += 1
    return rows


def measure(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of the process tree running ``command``."""
    start = time.perf_counter()
    process = psutil.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"command failed ({process.returncode}): {' '.join(command)}")
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, action="append", help="repeatable; default 2, 8")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-rows", type=int, default=500)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bastion-deid-bench"))
    parser.add_argument("--no-naive", action="store_true", help="skip the whole-file peer")
    parser.add_argument(
        "--engine",
        default="bastion.privacy.detect:default_engine",
        help="detector factory; benchmarks.deid_throughput:regex_engine isolates the batch cost",
    )
    args = parser.parse_args()
    sizes = args.size_mb or [2.0, 8.0]
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"workers={args.workers} chunk_rows={args.chunk_rows} cpus={psutil.cpu_count()}")
    print(f"{'size MB':>8} {'rows':>8} {'tool':<22} {'seconds':>8} {'MB/s':>7} {'peak RSS MB':>12}")
    for size in sizes:
        source = args.workdir / f"notes-{size:g}mb.csv"
        rows = generate(source, size)
        megabytes = source.stat().st_size / 1024 / 1024
        target = args.workdir / f"out-{size:g}mb.csv"
        target.unlink(missing_ok=True)
        runs = [
            (
                "bastion privacy deid",
                [
                    *BASTION,
                    "privacy",
                    "deid",
                    str(source),
                    str(target),
                    "--text-columns",
                    "notes",
                    "--key-from",
                    "none",
                    "--workers",
                    str(args.workers),
                    "--chunk-rows",
                    str(args.chunk_rows),
                    "--engine",
                    args.engine,
                    "--quiet",
                    "--overwrite",
                ],
            ),
        ]
        if not args.no_naive:
            runs.append(
                (
                    "pandas whole-file",
                    [sys.executable, "-c", NAIVE, str(source), str(target) + ".naive", args.engine],
                )
            )
        for name, command in runs:
            seconds, peak = measure(command)
            print(
                f"{megabytes:8.1f} {rows:8d} {name:<22} {seconds:8.1f} {megabytes / seconds:7.3f} "
                f"{peak / 1024 / 1024:12.0f}"
            )


if __name__ == "__main__":
    main()

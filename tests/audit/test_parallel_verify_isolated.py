"""Run the two-process verification tests in a fresh, single-threaded interpreter.

In a full test run, threads started by earlier tests keep ``verify`` sequential
(forking with other threads alive is unsafe), so the module skips there; here it
runs in its own process and must pass without a single skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_parallel_verification_module_in_a_fresh_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            str(ROOT / "tests" / "audit" / "test_parallel_verify.py"),
            "--basetemp",
            str(tmp_path / "inner"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ},
        check=False,
    )
    tail = done.stdout[-2000:]
    assert done.returncode == 0, tail
    assert " passed" in tail and "skipped" not in tail, tail

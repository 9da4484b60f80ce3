"""Demo data: reproducible to the byte, realistic, and shipped with a valid spec and policy."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from bastion.access import load_policy
from bastion.pipeline import load_spec, patients_csv
from tests.pipeline.helpers import run_cli


def _digest(directory: Path) -> str:
    return hashlib.sha256(
        b"".join(
            (directory / name).read_bytes()
            for name in ("patients.csv", "patients.spec.yaml", "policy.yaml")
        )
    ).hexdigest()


def test_same_seed_same_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a", "b"):
        result = run_cli(
            capsys, "demo", "data", "--out", str(tmp_path / name), "--rows", "150", "--seed", "7"
        )
        assert result.exit_code == 0, result.err
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert patients_csv(50, 7) != patients_csv(50, 8)


def test_contents_are_realistic_and_spec_and_policy_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(capsys, "demo", "data", "--out", str(tmp_path), "--rows", "60", "--seed", "1")
    lines = (tmp_path / "patients.csv").read_text().splitlines()
    assert len(lines) == 61
    text = "\n".join(lines)
    assert re.search(r"\b\d{3}-\d{2}-\d{4}\b", text)  # SSNs
    assert re.search(r"@\w+\.\w+", text)  # emails
    assert re.search(r"\(\d{3}\) \d{3}-\d{4}", text)  # phones
    assert re.search(r"Call back at \(\d{3}\)", text)  # notes mention phones
    spec = load_spec(tmp_path / "patients.spec.yaml")
    assert spec.training is not None
    assert load_policy(tmp_path / "policy.yaml") is not None


def test_rows_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "demo", "data", "--out", str(tmp_path), "--rows", "0").exit_code == 2

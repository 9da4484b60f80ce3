"""``bastion privacy scan / eval / generate-corpus`` including bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.core.errors import ValidationError

runner = CliRunner()


def test_scan_text_json_and_no_values() -> None:
    result = runner.invoke(app, ["privacy", "scan", "mail a@b.com now", "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["findings"][0]["value"] == "a@b.com"
    hidden = runner.invoke(app, ["privacy", "scan", "mail a@b.com now", "--json", "--no-values"])
    assert "a@b.com" not in hidden.stdout


def test_scan_clean_text_exits_zero() -> None:
    assert runner.invoke(app, ["privacy", "scan", "nothing to see"]).exit_code == 0


def test_scan_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok line\n\xff\xfe oops")
    result = runner.invoke(app, ["privacy", "scan", str(bad)])
    assert isinstance(result.exception, ValidationError)
    assert "byte offset 8" in str(result.exception) and result.exception.line == 2
    binary = tmp_path / "bin.dat"
    binary.write_bytes(b"\x7fELF\x00\x00\x01")
    result = runner.invoke(app, ["privacy", "scan", str(binary)])
    assert isinstance(result.exception, ValidationError) and "binary" in str(result.exception)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = runner.invoke(app, ["privacy", "scan", str(empty), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["findings"] == []


def test_scan_long_single_line(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text(("word " * 250_000) + "x@example.com")
    result = runner.invoke(
        app, ["privacy", "scan", str(big), "--json", "--entities", "EMAIL_ADDRESS"]
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["counts"] == {"EMAIL_ADDRESS": 1}


def test_generate_then_eval(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    assert (
        runner.invoke(
            app, ["privacy", "generate-corpus", "--out", str(out), "--n", "20", "--seed", "3"]
        ).exit_code
        == 0
    )
    result = runner.invoke(app, ["privacy", "eval", str(out), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["documents"] == 20

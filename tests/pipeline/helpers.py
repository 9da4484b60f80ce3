"""Shared helpers for pipeline tests: run the real CLI entry point in-process, demo setup."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bastion.cli.main import run
from bastion.core.settings import Settings, load_settings
from bastion.pipeline import DemoFiles, write_demo
from bastion.secrets import keyring_from_settings


@dataclass
class CliResult:
    exit_code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """Invoke ``bastion ARGS`` through the console-script entry (its error mapping included)."""
    capsys.readouterr()
    old_argv = sys.argv
    sys.argv = ["bastion", *args]
    code = 0
    try:
        run()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        sys.argv = old_argv
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def demo_setup(root: Path, rows: int = 400, seed: int = 3) -> tuple[DemoFiles, Settings]:
    """Demo data, the example policy installed, keys initialised, under ``root``."""
    files = write_demo(root / "demo", rows=rows, seed=seed)
    settings = load_settings(home=root / ".bastion")
    settings.home.mkdir(parents=True, exist_ok=True)
    shutil.copy(files.policy, settings.policy_path)
    keyring_from_settings(settings).init()
    return files, settings

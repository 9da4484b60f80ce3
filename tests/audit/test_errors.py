"""Unavailable stores give one-line errors (exit 2) and leave the log valid."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from bastion.audit import AuditLog, open_audit_log
from bastion.cli.main import app
from bastion.core.errors import BastionError, ServiceUnavailableError
from bastion.core.settings import load_settings
from bastion.secrets import keyring_from_settings
from tests.audit.conftest import LogFactory, fill

REFUSING_POSTGRES = "postgresql+psycopg://root:hunter2@127.0.0.1:1/test"


def bastion(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bastion", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
        timeout=60,
    )


def test_locked_sqlite_file_is_service_unavailable_and_log_stays_valid(
    make_log: LogFactory, tmp_path: Path
) -> None:
    log = make_log(busy_timeout_seconds=0.2)
    fill(log, 10)
    holder = sqlite3.connect(tmp_path / "audit.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ServiceUnavailableError) as caught:
            log.append(principal="alice", action="read", resource="r", outcome="allow")
        assert "locked" in str(caught.value) and "\n" not in str(caught.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    report = log.verify()
    assert report.ok and report.events_checked == 10
    fill(log, 1)
    assert log.verify().ok


def test_sqlite_file_that_is_not_a_database(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not an sqlite database" * 100)
    with pytest.raises(ServiceUnavailableError, match="not a database"):
        AuditLog(f"sqlite:///{path}", signing_key=signing_key)
    assert path.read_bytes().startswith(b"this is not")


def test_refusing_postgres_is_service_unavailable(signing_key: Ed25519PrivateKey) -> None:
    with pytest.raises(ServiceUnavailableError) as caught:
        AuditLog(REFUSING_POSTGRES, signing_key=signing_key)
    message = str(caught.value)
    assert "\n" not in message and "hunter2" not in message and "127.0.0.1" in message


@pytest.fixture
def keys_ready() -> None:
    keyring_from_settings(load_settings()).init()


def test_cli_refusing_postgres_exits_2_with_one_line(keys_ready: None) -> None:
    done = bastion("audit", "verify", BASTION_AUDIT__URL=REFUSING_POSTGRES)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "unavailable" in done.stderr and "hunter2" not in done.stderr


def invoke(*args: str, **env: str) -> tuple[int, str]:
    """Run the CLI in-process; expected errors map to exit codes as ``cli.main.run`` does."""
    result = CliRunner().invoke(app, list(args), env=env)
    if isinstance(result.exception, BastionError):
        return result.exception.exit_code, str(result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_cli_locked_sqlite_exits_2_and_log_stays_valid(keys_ready: None) -> None:
    with open_audit_log(load_settings()) as log:
        fill(log, 3)
    holder = sqlite3.connect(".bastion/audit.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, message = invoke("audit", "checkpoint", BASTION_AUDIT__BUSY_TIMEOUT_SECONDS="0.2")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 2
    assert "locked" in message and "\n" not in message
    assert invoke("audit", "verify")[0] == 0


def test_cli_bad_time_filter_names_the_field(keys_ready: None) -> None:
    code, message = invoke("audit", "show", "--since", "yesterday")
    assert code == 2 and "since" in message

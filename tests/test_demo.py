"""``make run``'s job completes on embedded defaults and leaves a verifiable audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion import demo
from bastion.audit import open_audit_log
from bastion.core.settings import load_settings


def test_demo_runs_twice_and_audit_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--no-serve"]) == 0
    assert demo.main(["--no-serve"]) == 0  # idempotent: keys exist, policy kept, log only grows
    out = capsys.readouterr().out
    assert "audit log intact" in out
    with open_audit_log(load_settings()) as audit:
        denied = audit.query(outcome="deny")
        assert {event.principal for event in denied} >= {"bob", "carol", "mallory"}
        assert audit.verify().ok
    # secrets never printed: the key files' contents do not appear in the output
    for secret_file in (tmp_path / ".bastion" / "secrets").iterdir():
        assert secret_file.read_bytes()[:40].decode(errors="ignore") not in out

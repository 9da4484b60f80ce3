"""``bastion access``: explanations, exit codes, audited checks, never-overwriting init."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.audit import open_audit_log
from bastion.cli.main import app, run
from bastion.core.settings import load_settings

runner = CliRunner()


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Outcome]:
    """The real console entry point (with its error-to-exit-code mapping), in process."""

    def invoke(*args: str) -> Outcome:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["bastion", *args])
        with pytest.raises(SystemExit) as info:
            run()
        captured = capsys.readouterr()
        code = info.value.code
        return Outcome(code if isinstance(code, int) else 1, captured.out, captured.err)

    return invoke


@pytest.fixture
def home() -> Path:
    """Keys initialised and the example policy written in ./.bastion (the per-test cwd)."""
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    result = runner.invoke(app, ["access", "init-policy"])
    assert result.exit_code == 0, result.output
    return Path(".bastion")


def _audit_events() -> list[tuple[str, str, str, str]]:
    """Access decisions in the log (key-management events of the setup left out)."""
    with open_audit_log(load_settings()) as log:
        return [
            (e.principal, e.action, e.resource, e.outcome)
            for e in log.query()
            if not e.action.startswith("keys:")
        ]


def test_help_on_every_access_command() -> None:
    for args in (
        ["access"],
        *(["access", c] for c in ("check", "init-policy", "roles", "validate")),
    ):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_check_allow_explains_rule_and_chain(home: Path) -> None:
    result = runner.invoke(app, ["access", "check", "bob", "predict", "model:sentiment"])
    assert result.exit_code == 0, result.output
    assert "ALLOW" in result.output
    assert "bob → ml-engineer → analyst" in result.output
    assert "policy.yaml:" in result.output


def test_check_deny_exits_1_and_is_audited(home: Path) -> None:
    denied = runner.invoke(
        app, ["access", "check", "bob", "dataset:read", "dataset:clinical/identified/x"]
    )
    assert denied.exit_code == 1
    assert "explicit-deny" in denied.output
    unknown = runner.invoke(app, ["access", "check", "mallory", "predict", "model:x"])
    assert unknown.exit_code == 1
    assert "unknown-principal" in unknown.output
    assert _audit_events() == [
        ("bob", "dataset:read", "dataset:clinical/identified/x", "deny"),
        ("mallory", "predict", "model:x", "deny"),
    ]


def test_check_json_output(home: Path) -> None:
    result = runner.invoke(
        app, ["access", "check", "alice", "dataset:read", "dataset:clinical/identified/x", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["allowed"] is True
    assert data["rule"]["role"] == "data-steward"
    assert data["rule"]["role_chain"] == ["alice", "data-steward"]
    assert data["rule"]["line"] > 0


def test_check_without_policy_denies_with_hint() -> None:
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    result = runner.invoke(app, ["access", "check", "alice", "predict", "model:x"])
    assert result.exit_code == 1
    assert "no-policy" in result.output
    assert "init-policy" in result.output
    assert _audit_events() == [("alice", "predict", "model:x", "deny")]


def test_init_policy_refuses_to_overwrite(home: Path, run_cli: Callable[..., Outcome]) -> None:
    before = (home / "policy.yaml").read_text()
    result = run_cli("access", "init-policy")
    assert result.returncode == 2
    assert "not overwriting" in result.stderr
    assert "Traceback" not in result.stderr
    assert (home / "policy.yaml").read_text() == before
    other = runner.invoke(app, ["access", "init-policy", "--out", "elsewhere/p.yaml"])
    assert other.exit_code == 0
    assert Path("elsewhere/p.yaml").read_text() == before


def test_roles_lists_roles_and_principals(home: Path) -> None:
    table = runner.invoke(app, ["access", "roles"])
    assert table.exit_code == 0, table.output
    for name in ("data-steward", "ml-engineer", "analyst", "auditor", "security-officer", "alice"):
        assert name in table.output
    data = json.loads(runner.invoke(app, ["access", "roles", "--json"]).output)
    assert data["roles"]["ml-engineer"]["inherits"] == ["analyst"]
    assert data["principals"]["bob"]["effective_roles"] == ["ml-engineer", "analyst"]


def test_malformed_policy_is_a_one_line_error_with_line_and_field(
    home: Path, run_cli: Callable[..., Outcome]
) -> None:
    (home / "policy.yaml").write_text("version: 1\nroles:\n  a:\n    permisions: []\n")
    for args in (
        ("access", "check", "alice", "predict", "model:x"),
        ("access", "validate"),
        ("access", "roles"),
    ):
        result = run_cli(*args)
        assert result.returncode == 2, result
        assert "policy.yaml:4" in result.stderr
        assert "roles.a.permisions" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr


def test_validate_ok(home: Path) -> None:
    result = runner.invoke(app, ["access", "validate"])
    assert result.exit_code == 0
    assert "ok" in result.output

"""Administrative commands (key management) leave audit events: who, what, outcome."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bastion.audit import open_audit_log
from bastion.cli.main import app
from bastion.core.settings import load_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def _keys() -> None:
    """The audit log signs checkpoints with a key from the secrets backend."""
    result = runner.invoke(app, ["keys", "init"])
    assert result.exit_code == 0, result.output


def _events(action_prefix: str) -> list[dict[str, object]]:
    with open_audit_log(load_settings()) as log:
        assert log.verify().ok
        return [
            {
                "principal": event.principal,
                "action": event.action,
                "resource": event.resource,
                "outcome": event.outcome,
                "details": event.details,
            }
            for event in log.query(limit=1000)
            if event.action.startswith(action_prefix)
        ]


def test_api_key_lifecycle_is_audited_without_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_PRINCIPAL", "alice")
    created = runner.invoke(
        app, ["keys", "create", "--name", "svc", "--scopes", "predict", "--json"]
    )
    assert created.exit_code == 0, created.output
    first_key = json.loads(created.output)["key"]
    rotated = runner.invoke(app, ["keys", "rotate", "svc", "--json"])
    assert rotated.exit_code == 0, rotated.output
    second_key = json.loads(rotated.output)["key"]
    assert runner.invoke(app, ["keys", "revoke", "svc"]).exit_code == 0

    events = _events("apikey:")
    assert [(e["action"], e["outcome"]) for e in events] == [
        ("apikey:create", "success"),
        ("apikey:rotate", "success"),
        ("apikey:revoke", "success"),
    ]
    assert {e["principal"] for e in events} == {"alice"}
    assert {e["resource"] for e in events} == {"apikey:svc"}
    assert events[0]["details"]["scopes"] == ["predict"]  # type: ignore[index]
    assert events[-1]["details"]["state"] == "revoked"  # type: ignore[index]
    dumped = json.dumps(events)
    assert first_key not in dumped and second_key not in dumped


def test_refused_key_operation_is_audited_as_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASTION_PRINCIPAL", raising=False)
    monkeypatch.setenv("USER", "ops bob")  # sanitised into a valid principal id
    assert runner.invoke(app, ["keys", "revoke", "nobody"]).exit_code != 0
    (event,) = _events("apikey:revoke")
    assert event["outcome"] == "failure" and event["principal"] == "user:ops_bob"
    assert event["details"] == {"error": "NotFoundError"}


def test_keys_init_records_what_it_created(monkeypatch: pytest.MonkeyPatch) -> None:
    first = runner.invoke(app, ["keys", "init", "--json"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["keys", "init", "--json"])
    assert second.exit_code == 0, second.output
    created = [e["details"]["created"] for e in _events("keys:init")]  # type: ignore[index]
    # The fixture's run created them all; both runs here found them present.
    assert len(created) == 3 and created[1] == [] and created[2] == []


def test_first_keys_init_names_the_created_keys() -> None:
    """On a fresh home the first init's event lists every key it created."""
    with open_audit_log(load_settings()) as log:
        first = next(e for e in log.query(limit=1000) if e.action == "keys:init")
    assert "audit-checkpoint" in first.details["created"]


def test_key_commands_without_keys_fail_closed() -> None:
    """Not initialised: the command stops before changing anything, naming the fix."""
    import shutil

    shutil.rmtree(load_settings().home / "secrets")
    result = runner.invoke(app, ["keys", "create", "--name", "x", "--scopes", "predict"])
    assert result.exit_code != 0 and "bastion keys init" in str(result.exception or result.output)

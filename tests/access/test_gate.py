"""The process-wide gate, the decorator, and decisions landing in a real AuditLog."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bastion.access import (
    NO_POLICY,
    UNKNOWN_PRINCIPAL,
    Authorizer,
    authorizer_from_settings,
    check,
    configure,
    default_authorizer,
    example_policy_text,
    parse_policy,
    require,
    requires,
    write_example_policy,
)
from bastion.audit import AuditLog
from bastion.core.crypto import generate_ed25519_private_pem, load_ed25519_private
from bastion.core.errors import AccessDeniedError, BastionError, ConfigError, ValidationError
from bastion.core.identity import Principal
from bastion.core.settings import load_settings
from bastion.secrets import keyring_from_settings
from tests.access.conftest import RecordingSink


@pytest.fixture
def gate(sink: RecordingSink) -> Authorizer:
    authorizer = Authorizer(parse_policy(example_policy_text(), "policy.yaml"), sink)
    configure(authorizer)
    return authorizer


def test_module_gate_uses_configured_authorizer(gate: Authorizer, sink: RecordingSink) -> None:
    assert default_authorizer() is gate
    assert require("alice", "dataset:read", "dataset:clinical/x").allowed
    assert not check("carol", "dataset:read", "dataset:clinical/x").allowed
    with pytest.raises(AccessDeniedError):
        require(Principal("carol"), "dataset:read", "dataset:clinical/x")
    assert [e["outcome"] for e in sink.events] == ["allow", "deny", "deny"]


@requires("dataset:read", resource="dataset:{name}")
def load_dataset(principal: Principal | str, name: str, limit: int = 10) -> str:
    return f"rows of {name} (limit {limit})"


@requires(
    "model:train",
    resource=lambda args: f"model:{args['spec']['model']}",
    principal_arg="who",
)
def train(spec: dict[str, Any], *, who: str) -> str:
    return "trained"


def test_decorator_allows_and_denies(gate: Authorizer, sink: RecordingSink) -> None:
    assert load_dataset("bob", "clinical/notes") == "rows of clinical/notes (limit 10)"
    assert sink.events[-1]["resource"] == "dataset:clinical/notes"
    with pytest.raises(AccessDeniedError) as info:
        load_dataset(principal="bob", name="clinical/identified/notes")
    assert info.value.reason == "explicit-deny"
    with pytest.raises(AccessDeniedError):
        load_dataset("nobody", "clinical/notes")
    assert sink.events[-1]["details"]["reason"] == UNKNOWN_PRINCIPAL


def test_decorator_body_does_not_run_when_denied(sink: RecordingSink) -> None:
    calls: list[str] = []
    authorizer = Authorizer(parse_policy(example_policy_text(), "p"), sink)

    @requires("model:deploy", resource="model:{name}", authorizer=authorizer)
    def deploy(principal: str, name: str) -> None:
        calls.append(name)

    with pytest.raises(AccessDeniedError):
        deploy("bob", "diagnosis")
    assert calls == []
    deploy("dave", "diagnosis")
    assert calls == ["diagnosis"]


def test_decorator_with_callable_resource_and_custom_argument(gate: Authorizer) -> None:
    assert train({"model": "diagnosis"}, who="bob") == "trained"
    with pytest.raises(AccessDeniedError):
        train({"model": "diagnosis"}, who="carol")


def test_decorator_path_tricks_are_denied(gate: Authorizer) -> None:
    with pytest.raises(AccessDeniedError) as info:
        load_dataset("bob", "clinical/../identified/x")
    assert info.value.reason == "invalid-request"


def test_decorator_on_coroutines_checks_before_running(gate: Authorizer) -> None:
    started: list[bool] = []

    @requires("predict", resource="model:{model}")
    async def predict(principal: str, model: str) -> str:
        started.append(True)
        return "ok"

    assert asyncio.run(predict("gateway", "sentiment")) == "ok"
    with pytest.raises(AccessDeniedError):
        asyncio.run(predict("carol", "sentiment"))
    assert started == [True]


def test_decorator_refuses_functions_without_a_principal() -> None:
    with pytest.raises(TypeError, match="principal"):

        @requires("predict", resource="model:x")
        def no_principal(model: str) -> None:
            return None


def _settings_with_keys(tmp_path: Path) -> Any:
    settings = load_settings(home=tmp_path / "home")
    keyring_from_settings(settings).init()
    return settings


def test_settings_without_policy_deny_everything_and_audit(tmp_path: Path) -> None:
    settings = _settings_with_keys(tmp_path)
    authorizer = authorizer_from_settings(settings)
    decision = authorizer.check("alice", "dataset:read", "dataset:clinical/x")
    assert decision.reason == NO_POLICY
    assert str(settings.policy_path) in decision.hint
    log = authorizer.audit
    assert isinstance(log, AuditLog)
    events = list(log.query())
    assert [(e.principal, e.outcome) for e in events] == [("alice", "deny")]
    assert events[0].details["reason"] == NO_POLICY
    log.close()


def test_lazy_default_is_built_from_settings(tmp_path: Path) -> None:
    settings = _settings_with_keys(tmp_path)
    write_example_policy(settings.policy_path)
    # the lazy gate reads ./bastion.toml in the (per-test) working directory
    Path("bastion.toml").write_text(f'home = "{settings.home}"\n')
    assert require("alice", "dataset:read", "dataset:clinical/identified/x").allowed
    authorizer = default_authorizer()
    assert authorizer.policy is not None
    log = authorizer.audit
    assert isinstance(log, AuditLog)
    assert [e.outcome for e in log.query()] == ["allow"]
    log.close()


def test_malformed_policy_in_settings_is_an_error_not_a_silent_allow(tmp_path: Path) -> None:
    settings = _settings_with_keys(tmp_path)
    settings.policy_path.write_text("version: 1\nroles:\n  a: {inherits: [zz]}\n")
    with pytest.raises(ValidationError) as info:
        authorizer_from_settings(settings)
    assert info.value.line == 3


def test_end_to_end_with_real_audit_log_on_sqlite(tmp_path: Path) -> None:
    key = load_ed25519_private(generate_ed25519_private_pem())
    log = AuditLog(f"sqlite:///{tmp_path / 'audit.db'}", signing_key=key, checkpoint_every=4)
    authorizer = Authorizer(parse_policy(example_policy_text(), "policy.yaml"), log)
    requests = [
        ("alice", "dataset:read", "dataset:clinical/identified/x"),  # allow
        ("bob", "dataset:read", "dataset:clinical/identified/x"),  # explicit deny
        ("mallory", "predict", "model:sentiment"),  # unknown principal
        ("carol", "model:train", "model:x"),  # no permission
        ("dave", "model:deploy", "model:diagnosis"),  # allow via role
    ]
    outcomes = [authorizer.check(*request).outcome for request in requests]
    events = list(log.query())
    assert [(e.principal, e.action, e.resource, e.outcome) for e in events] == [
        (*request, outcome) for request, outcome in zip(requests, outcomes, strict=True)
    ]
    assert [e.details["reason"] for e in events] == [
        "matched-permission",
        "explicit-deny",
        "unknown-principal",
        "no-matching-permission",
        "matched-permission",
    ]
    assert events[1].details["rule"]["line"] > 0
    assert log.verify().ok
    log.close()


def test_locked_audit_database_fails_closed(tmp_path: Path) -> None:
    database = tmp_path / "audit.db"
    log = AuditLog(f"sqlite:///{database}", signing_key=None, busy_timeout_seconds=0.2)
    authorizer = Authorizer(parse_policy(example_policy_text(), "policy.yaml"), log)
    locker = sqlite3.connect(database, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(AccessDeniedError) as info:
            authorizer.require("alice", "dataset:read", "dataset:clinical/x")
        assert info.value.reason == "audit-failed"
        assert info.value.exit_code == 2
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    # once the store is back, decisions are recorded again and the chain is intact
    assert authorizer.require("alice", "dataset:read", "dataset:clinical/x").allowed
    assert [e.outcome for e in log.query()] == ["allow"]
    assert log.verify().ok
    log.close()


def test_example_policy_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "policy.yaml"
    target.write_text("mine\n")
    with pytest.raises(ConfigError, match="not overwriting"):
        write_example_policy(target)
    assert target.read_text() == "mine\n"


def test_configure_none_resets(gate: Authorizer, write_policy: Callable[[str], Path]) -> None:
    configure(None)
    Path("bastion.toml").write_text('home = "nohome"\n')
    # no keys initialised: building the default must fail loudly, never allow
    with pytest.raises(BastionError):
        require("alice", "dataset:read", "dataset:x")

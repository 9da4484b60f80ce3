"""Decisions: deny by default, inheritance, explicit deny, and every decision audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.access import (
    ALLOWED,
    EXPLICIT_DENY,
    INVALID_REQUEST,
    NO_MATCHING_PERMISSION,
    NO_POLICY,
    NO_PRINCIPAL,
    UNKNOWN_PRINCIPAL,
    AuditFailedError,
    Authorizer,
    example_policy_text,
    parse_policy,
)
from bastion.core.errors import EXIT_USAGE, AccessDeniedError, ServiceUnavailableError
from bastion.core.identity import Principal
from tests.access.conftest import RecordingSink


@pytest.fixture
def authorizer(sink: RecordingSink) -> Authorizer:
    return Authorizer(parse_policy(example_policy_text(), "policy.yaml"), sink)


def test_allow_via_inherited_role_names_rule_and_chain(
    authorizer: Authorizer, sink: RecordingSink
) -> None:
    decision = authorizer.check("bob", "predict", "model:sentiment")
    assert decision.allowed
    assert decision.reason == ALLOWED
    assert decision.rule is not None
    assert decision.rule.role == "analyst"
    assert decision.rule.resource == "model:*"
    assert decision.rule.role_chain == ("bob", "ml-engineer", "analyst")
    assert decision.rule.file == "policy.yaml"
    assert (
        example_policy_text()
        .splitlines()[decision.rule.line - 1]
        .strip()
        .startswith("- {action: predict")
    )
    assert sink.events[-1]["outcome"] == "allow"
    assert sink.events[-1]["details"]["rule"]["role_chain"] == ["bob", "ml-engineer", "analyst"]


def test_direct_role_permission(authorizer: Authorizer) -> None:
    decision = authorizer.check("bob", "model:train", "model:diagnosis/v2")
    assert decision.allowed
    assert decision.rule is not None
    assert decision.rule.role_chain == ("bob", "ml-engineer")


def test_deny_by_default(authorizer: Authorizer, sink: RecordingSink) -> None:
    decision = authorizer.check("bob", "model:deploy", "model:diagnosis")
    assert not decision.allowed
    assert decision.reason == NO_MATCHING_PERMISSION
    assert decision.rule is None
    assert "ml-engineer" in decision.hint
    assert sink.events[-1]["outcome"] == "deny"
    assert sink.events[-1]["details"]["reason"] == NO_MATCHING_PERMISSION


def test_inheritance_is_one_way(authorizer: Authorizer) -> None:
    # analysts do not get what ml-engineers (who inherit analyst) have
    assert not authorizer.check("gateway", "model:train", "model:x").allowed
    # auditors do not get security-officer powers
    assert not authorizer.check("carol", "risk:signoff", "system:clinical").allowed
    assert authorizer.check("dave", "audit:read", "audit:log").allowed


def test_unknown_principal_is_denied_and_recorded(
    authorizer: Authorizer, sink: RecordingSink
) -> None:
    decision = authorizer.check("mallory", "predict", "model:sentiment")
    assert not decision.allowed
    assert decision.reason == UNKNOWN_PRINCIPAL
    assert sink.events == [
        {
            "principal": "mallory",
            "action": "predict",
            "resource": "model:sentiment",
            "outcome": "deny",
            "details": {"event": "access-decision", "rule": None, "reason": UNKNOWN_PRINCIPAL},
        }
    ]


def test_principal_named_like_a_role_gets_nothing(authorizer: Authorizer) -> None:
    assert authorizer.check("analyst", "predict", "model:x").reason == UNKNOWN_PRINCIPAL


def test_explicit_deny_beats_allow(authorizer: Authorizer, sink: RecordingSink) -> None:
    # bob's ml-engineer role grants dataset:read on dataset:clinical/*, the deny rule wins
    decision = authorizer.check("bob", "dataset:read", "dataset:clinical/identified/notes")
    assert not decision.allowed
    assert decision.reason == EXPLICIT_DENY
    assert decision.rule is not None
    assert decision.rule.effect == "deny"
    assert decision.rule.subject == "role:ml-engineer"
    assert "data stewards" in decision.rule.reason
    assert sink.events[-1]["details"]["rule"]["effect"] == "deny"
    # without the deny the same role may read the rest of clinical
    assert authorizer.check("bob", "dataset:read", "dataset:clinical/deidentified/notes").allowed
    # and the steward is not affected by a rule for another role
    assert authorizer.check("alice", "dataset:read", "dataset:clinical/identified/notes").allowed


def test_deny_for_everyone_and_for_one_principal(write_policy: Callable[[str], Path]) -> None:
    policy_path = write_policy(
        """
        version: 1
        roles:
          admin:
            permissions:
              - {action: "*", resource: "*"}
        principals:
          root: {roles: [admin]}
          ops: {roles: [admin]}
        deny:
          - {action: keys:init, resource: "keys:*"}
          - {principal: ops, action: model:deploy, resource: "model:*"}
        """
    )
    authorizer = Authorizer.from_file(policy_path)
    assert authorizer.check("root", "model:deploy", "model:a").allowed
    assert authorizer.check("root", "something:new", "thing:a").allowed  # explicit "*" grants
    everyone = authorizer.check("root", "keys:init", "keys:signing")
    assert everyone.reason == EXPLICIT_DENY
    assert everyone.rule is not None and everyone.rule.subject == "everyone"
    ops = authorizer.check("ops", "model:deploy", "model:a")
    assert ops.reason == EXPLICIT_DENY
    assert ops.rule is not None and ops.rule.subject == "principal:ops"


def test_pattern_edges_through_the_authorizer(write_policy: Callable[[str], Path]) -> None:
    authorizer = Authorizer.from_file(
        write_policy(
            """
            version: 1
            roles:
              reader:
                permissions:
                  - {action: dataset:read, resource: "dataset:clinical/*"}
            principals:
              ann: {roles: [reader]}
            """
        )
    )
    assert authorizer.check("ann", "dataset:read", "dataset:clinical/notes").allowed
    assert authorizer.check("ann", "dataset:read", "dataset:clinical/a/b/c").allowed
    for resource in ("dataset:clinical-other/x", "dataset:clinicalx", "dataset:clinical"):
        assert authorizer.check("ann", "dataset:read", resource).reason == NO_MATCHING_PERMISSION
    escaped = authorizer.check("ann", "dataset:read", "dataset:clinical/../finance/x")
    assert escaped.reason == INVALID_REQUEST
    assert not authorizer.check("ann", "dataset:write", "dataset:clinical/notes").allowed


def test_deep_role_chain_beyond_casbin_default(write_policy: Callable[[str], Path]) -> None:
    lines = ["version: 1", "roles:", "  r0:", "    permissions:"]
    lines.append('      - {action: predict, resource: "model:x"}')
    lines += [f"  r{i}: {{inherits: [r{i - 1}]}}" for i in range(1, 25)]
    lines += ["principals:", "  p: {roles: [r24]}"]
    authorizer = Authorizer.from_file(write_policy("\n".join(lines) + "\n"))
    decision = authorizer.check("p", "predict", "model:x")
    assert decision.allowed
    assert decision.rule is not None and len(decision.rule.role_chain) == 26


def test_no_policy_denies_everything_with_a_hint(sink: RecordingSink, tmp_path: Path) -> None:
    authorizer = Authorizer(None, sink, policy_path=tmp_path / "policy.yaml")
    decision = authorizer.check("alice", "dataset:read", "dataset:x")
    assert not decision.allowed
    assert decision.reason == NO_POLICY
    assert "init-policy" in decision.hint
    assert sink.events[-1]["details"]["reason"] == NO_POLICY


@pytest.mark.parametrize(
    ("principal", "action", "resource"),
    [
        ("bad id", "predict", "model:x"),
        ("bob\n", "predict", "model:x"),
        ("bob", "predict\n", "model:x"),
        ("bob", "predict;drop", "model:x"),
        ("bob", "*", "model:x"),
        ("bob", "predict", "model:*"),
        ("bob", "predict", "model:x\n"),
        ("bob", "predict", 42),
    ],
)
def test_invalid_requests_are_denied_and_recorded(
    authorizer: Authorizer, sink: RecordingSink, principal: str, action: str, resource: object
) -> None:
    decision = authorizer.check(principal, action, resource)  # type: ignore[arg-type]
    assert not decision.allowed
    assert decision.reason == INVALID_REQUEST
    assert sink.events[-1]["outcome"] == "deny"
    assert "\n" not in sink.events[-1]["resource"]


def test_missing_principal_is_denied(authorizer: Authorizer, sink: RecordingSink) -> None:
    decision = authorizer.check(None, "predict", "model:x")
    assert decision.reason == NO_PRINCIPAL
    assert sink.events[-1]["principal"] == "anonymous"


def test_principal_object_records_how_it_was_authenticated(
    authorizer: Authorizer, sink: RecordingSink
) -> None:
    authorizer.check(Principal("bob", authenticated_by="jwt"), "predict", "model:x")
    assert sink.events[-1]["details"]["authenticated_by"] == "jwt"
    assert sink.events[-1]["principal"] == "bob"


def test_require_raises_on_deny_and_returns_on_allow(
    authorizer: Authorizer, sink: RecordingSink
) -> None:
    assert authorizer.require("alice", "dataset:read", "dataset:clinical/identified/x").allowed
    with pytest.raises(AccessDeniedError) as info:
        authorizer.require("carol", "dataset:read", "dataset:clinical/notes")
    assert info.value.reason == NO_MATCHING_PERMISSION
    assert info.value.exit_code == 1
    assert [event["outcome"] for event in sink.events] == ["allow", "deny"]


def test_every_decision_is_recorded_once(authorizer: Authorizer, sink: RecordingSink) -> None:
    requests = [
        ("alice", "dataset:read", "dataset:clinical/x"),
        ("bob", "dataset:read", "dataset:clinical/identified/x"),
        ("nobody", "predict", "model:x"),
        ("carol", "audit:read", "audit:log"),
        ("carol", "bad action!", "audit:log"),
    ]
    outcomes = [authorizer.check(*request).outcome for request in requests]
    assert len(sink.events) == len(requests)
    assert [event["outcome"] for event in sink.events] == outcomes
    assert [event["principal"] for event in sink.events][:4] == [r[0] for r in requests][:4]


@pytest.mark.parametrize("principal", ["alice", "mallory"])
def test_audit_failure_fails_closed(sink: RecordingSink, principal: str) -> None:
    sink.fail_with = ServiceUnavailableError("audit database is locked")
    authorizer = Authorizer(parse_policy(example_policy_text(), "p"), sink)
    with pytest.raises(AuditFailedError) as info:
        authorizer.check(principal, "dataset:read", "dataset:clinical/x")
    assert isinstance(info.value, AccessDeniedError)
    assert info.value.exit_code == EXIT_USAGE
    assert "audit" in str(info.value) and "locked" in str(info.value)
    with pytest.raises(AccessDeniedError):
        authorizer.require(principal, "dataset:read", "dataset:clinical/x")

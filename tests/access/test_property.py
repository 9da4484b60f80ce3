"""Random policies and requests: allowed iff a granted pattern matches and no deny applies.

The reference below is deliberately naive and independent of the implementation:
role closure by fixpoint iteration, patterns by regular expressions.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.access import Authorizer, parse_policy
from tests.access.conftest import RecordingSink

ROLES = [f"r{i}" for i in range(5)]
PRINCIPALS = ["p0", "p1", "p2", "p3"]
ACTIONS = ["dataset:read", "dataset:write", "model:train", "predict"]
ACTION_PATTERNS = [*ACTIONS, "dataset:*", "*"]
KINDS = ["dataset", "model"]
SEGMENTS = ["a", "b", "ab", "a-b"]

segment_lists = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3)
pattern_segment_lists = st.lists(st.sampled_from([*SEGMENTS, "*"]), min_size=1, max_size=3)


@st.composite
def resource_patterns(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 15)) == 0:
        return "*"
    return f"{draw(st.sampled_from(KINDS))}:{'/'.join(draw(pattern_segment_lists))}"


@st.composite
def resources(draw: st.DrawFn) -> str:
    return f"{draw(st.sampled_from(KINDS))}:{'/'.join(draw(segment_lists))}"


permissions = st.fixed_dictionaries(
    {"action": st.sampled_from(ACTION_PATTERNS), "resource": resource_patterns()}
)


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    roles: dict[str, Any] = {}
    for index, name in enumerate(ROLES):
        role: dict[str, Any] = {"permissions": draw(st.lists(permissions, max_size=3))}
        # inherit only from lower-numbered roles: always acyclic
        parents = draw(st.lists(st.sampled_from(ROLES[:index]), max_size=2)) if index else []
        if parents:
            role["inherits"] = parents
        roles[name] = role
    principals = {
        principal: {"roles": draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=2))}
        for principal in draw(st.lists(st.sampled_from(PRINCIPALS), unique=True, max_size=4))
    }
    deny = []
    for rule in draw(st.lists(permissions, max_size=2)):
        subject = draw(st.sampled_from(["role", "principal", "everyone"]))
        if subject == "role":
            rule = {**rule, "role": draw(st.sampled_from(ROLES))}
        elif subject == "principal" and principals:
            rule = {**rule, "principal": draw(st.sampled_from(sorted(principals)))}
        deny.append(rule)
    return {"version": 1, "roles": roles, "principals": principals, "deny": deny}


def _pattern_regex(pattern: str) -> str:
    if pattern == "*":
        return ".*"
    kind, _, path = pattern.partition(":")
    parts = path.split("/")
    pieces = []
    for index, part in enumerate(parts):
        if part != "*":
            pieces.append(re.escape(part))
        elif index == len(parts) - 1:
            pieces.append(r"[^/]+(?:/[^/]+)*")
        else:
            pieces.append(r"[^/]+")
    return re.escape(kind) + ":" + "/".join(pieces)


def _action_ok(action: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(":*"):
        return action.split(":")[0] == pattern.split(":")[0] and ":" in action
    return action == pattern


def _rule_ok(rule: dict[str, str], action: str, resource: str) -> bool:
    return _action_ok(action, rule["action"]) and bool(
        re.fullmatch(_pattern_regex(rule["resource"]), resource)
    )


def reference_allows(doc: dict[str, Any], principal: str, action: str, resource: str) -> bool:
    if principal not in doc["principals"]:
        return False
    held = _held_roles(doc, principal)
    for rule in doc["deny"]:
        applies = (
            ("role" in rule and rule["role"] in held)
            or rule.get("principal") == principal
            or ("role" not in rule and "principal" not in rule)
        )
        if applies and _rule_ok(rule, action, resource):
            return False
    return any(
        _rule_ok(permission, action, resource)
        for role in held
        for permission in doc["roles"][role]["permissions"]
    )


def _near(pattern: str, data: st.DataObject) -> str:
    """A concrete resource close to ``pattern``: stars filled with 0-2 segments, or trimmed."""
    if pattern == "*":
        return data.draw(resources())
    kind, _, path = pattern.partition(":")
    segments: list[str] = []
    for part in path.split("/"):
        if part == "*":
            segments += data.draw(st.lists(st.sampled_from(SEGMENTS), max_size=2))
        else:
            segments.append(part)
    if data.draw(st.booleans()) and len(segments) > 1:
        segments.pop()
    return f"{kind}:{'/'.join(segments or ['a'])}"


def _held_roles(doc: dict[str, Any], principal: str) -> set[str]:
    held = set(doc["principals"].get(principal, {"roles": []})["roles"])
    while True:
        grown = held | {p for r in held for p in doc["roles"][r].get("inherits", [])}
        if grown == held:
            return held
        held = grown


@st.composite
def targeted(draw: st.DrawFn, doc: dict[str, Any], data: st.DataObject) -> tuple[str, str, str]:
    """A request aimed at a rule that applies to the principal, where boundary bugs would show."""
    principal = draw(st.sampled_from(sorted(doc["principals"]) or ["stranger"]))
    held = _held_roles(doc, principal)
    rules = [p for role in sorted(held) for p in doc["roles"][role]["permissions"]] + doc["deny"]
    if not rules:
        return (principal, "predict", draw(resources()))
    rule = draw(st.sampled_from(rules))
    action = rule["action"]
    if "*" in action:
        action = draw(st.sampled_from(ACTIONS))
    return (principal, action, _near(rule["resource"], data))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=policies(), data=st.data())
def test_decisions_match_reference(doc: dict[str, Any], data: st.DataObject) -> None:
    anything = st.tuples(
        st.sampled_from([*PRINCIPALS, "stranger"]), st.sampled_from(ACTIONS), resources()
    )
    requests = data.draw(
        st.lists(st.one_of(anything, targeted(doc, data)), min_size=1, max_size=10)
    )
    sink = RecordingSink()
    authorizer = Authorizer(parse_policy(yaml.safe_dump(doc), "random.yaml"), sink)
    for principal, action, resource in requests:
        decision = authorizer.check(principal, action, resource)
        assert decision.allowed is reference_allows(doc, principal, action, resource), (
            principal,
            action,
            resource,
            decision,
        )
        if decision.allowed:
            assert decision.rule is not None
            assert decision.rule.role_chain[0] == principal
    assert len(sink.events) == len(requests)

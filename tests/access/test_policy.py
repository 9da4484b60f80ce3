"""Loading the policy file: a good file loads, a bad one names file, line and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.access import example_policy_text, load_policy, parse_policy
from bastion.core.errors import ConfigError, ValidationError

GOOD = """
version: 1
roles:
  analyst:
    permissions:
      - {action: dataset:read, resource: "dataset:public/*"}
  ml-engineer:
    inherits: [analyst]
    permissions:
      - action: model:train
        resource: "model:*"
principals:
  bob: {roles: [ml-engineer]}
deny:
  - {principal: bob, action: dataset:read, resource: "dataset:public/secret", reason: internal}
"""


def test_good_policy_loads_with_lines(write_policy: Callable[[str], Path]) -> None:
    policy = load_policy(write_policy(GOOD))
    assert set(policy.roles) == {"analyst", "ml-engineer"}
    assert policy.roles["ml-engineer"].inherits == ("analyst",)
    assert policy.roles["analyst"].permissions[0].line == 5
    assert policy.roles["ml-engineer"].permissions[0].line == 9
    assert policy.deny[0].line == 14
    assert policy.deny[0].subject == "principal:bob"
    assert policy.effective_roles("bob") == ("ml-engineer", "analyst")
    assert policy.role_chain("bob", "analyst") == ("bob", "ml-engineer", "analyst")
    assert policy.effective_roles("mallory") == ()


def test_example_policy_is_valid() -> None:
    policy = parse_policy(example_policy_text(), "example")
    assert {"data-steward", "ml-engineer", "analyst", "auditor", "security-officer"} <= set(
        policy.roles
    )
    assert {"alice", "bob", "carol"} <= set(policy.principals)


PERMS = "version: 1\nroles:\n  a:\n    permissions:\n      - "
ROLE_A = "version: 1\nroles: {a: {}}\n"


def _error(write_policy: Callable[[str], Path], text: str) -> ValidationError:
    path = write_policy(text)
    with pytest.raises(ValidationError) as info:
        load_policy(path)
    assert info.value.file == str(path)
    return info.value


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        # unknown key at the top, in a role, in a permission
        (ROLE_A + "principal: {}\n", 3, "principal", "unknown key"),
        ("version: 1\nroles:\n  a:\n    permission: []\n", 4, "roles.a.permission", "unknown key"),
        (
            PERMS + "{action: predict, resource: 'model:x', effect: allow}\n",
            5,
            "roles.a.permissions[0].effect",
            "unknown key",
        ),
        # undefined role in inherits, in principals, in deny
        ("version: 1\nroles:\n  a:\n    inherits: [b]\n", 4, "roles.a.inherits[0]", "not defined"),
        (
            ROLE_A + "principals:\n  bob:\n    roles: [a, zz]\n",
            5,
            "principals.bob.roles[1]",
            "not defined",
        ),
        (
            ROLE_A + "deny:\n  - {role: zz, action: predict, resource: 'model:x'}\n",
            4,
            "deny[0].role",
            "not defined",
        ),
        # bad patterns
        (
            PERMS + "{action: dataset:read, resource: 'dataset:clinical*'}\n",
            5,
            "roles.a.permissions[0].resource",
            "whole segment",
        ),
        (
            PERMS + "{action: dataset:raed, resource: 'dataset:x'}\n",
            5,
            "roles.a.permissions[0].action",
            "unknown action",
        ),
        # missing required fields, wrong types
        (
            PERMS + "{action: predict}\n",
            5,
            "roles.a.permissions[0].resource",
            "missing",
        ),
        ("roles: {a: {}}\n", 1, "version", "missing"),
        ("version: 2\nroles: {a: {}}\n", 1, "version", "version 1"),
        ("version: 1\nroles:\n  a:\n    permissions: yes\n", 4, "roles.a.permissions", "list"),
        (ROLE_A + "principals:\n  bob: {roles: [1]}\n", 4, "principals.bob.roles[0]", "text"),
        # duplicate keys are refused rather than silently overwritten
        ("version: 1\nroles:\n  a: {}\n  a: {}\n", 4, "roles.a", "duplicate"),
        # names
        ("version: 1\nroles:\n  Admin: {}\n", 3, "roles.Admin", "role names"),
        (
            ROLE_A + "principals:\n  'bad id': {roles: [a]}\n",
            4,
            "principals.bad id",
            "principal ids",
        ),
        # deny rule with both subjects
        (
            ROLE_A
            + "principals: {bob: {roles: [a]}}\ndeny:\n"
            + "  - {role: a, principal: bob, action: predict, resource: 'model:x'}\n",
            5,
            "deny[0].principal",
            "not both",
        ),
    ],
)
def test_malformed_policy_names_line_and_field(
    write_policy: Callable[[str], Path], text: str, line: int, field: str, words: str
) -> None:
    error = _error(write_policy, text)
    assert error.line == line
    assert error.field == field
    assert words in str(error)
    assert f":{line}" in str(error)


def test_inheritance_cycle_is_refused_at_the_closing_entry(
    write_policy: Callable[[str], Path],
) -> None:
    error = _error(
        write_policy,
        """
        version: 1
        roles:
          a:
            inherits: [b]
          b:
            inherits: [c]
          c:
            inherits: [a]
        """,
    )
    assert "cycle" in str(error)
    assert "a → b → c → a" in str(error)
    assert error.line == 8
    assert error.field == "roles.c.inherits"


def test_self_inheritance_is_refused(write_policy: Callable[[str], Path]) -> None:
    error = _error(write_policy, "version: 1\nroles:\n  a:\n    inherits: a\n")
    assert error.field == "roles.a.inherits"
    assert error.line == 4


def test_yaml_syntax_error_names_line(write_policy: Callable[[str], Path]) -> None:
    error = _error(write_policy, "version: 1\nroles:\n  a: {\n  b: [\n")
    assert error.line is not None
    assert "invalid YAML" in str(error)


def test_unquoted_star_is_explained(write_policy: Callable[[str], Path]) -> None:
    error = _error(
        write_policy,
        PERMS + "{action: predict, resource: *}\n",
    )
    assert error.line == 5
    assert '"*"' in str(error)


def test_aliases_are_refused(write_policy: Callable[[str], Path]) -> None:
    error = _error(
        write_policy,
        "version: 1\nroles:\n  a: &base {}\n  b: *base\n",
    )
    assert error.line == 4
    assert "alias" in str(error)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n...\n"])
def test_empty_policy_is_refused(write_policy: Callable[[str], Path], text: str) -> None:
    assert "empty" in str(_error(write_policy, text))


def test_top_level_must_be_a_mapping(write_policy: Callable[[str], Path]) -> None:
    error = _error(write_policy, "- a\n- b\n")
    assert error.line == 1
    assert "mapping" in str(error)


def test_several_documents_are_refused(write_policy: Callable[[str], Path]) -> None:
    error = _error(write_policy, ROLE_A + "---\nversion: 1\n")
    assert error.line == 3


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"version: 1\nroles: {\xff: {}}\n")
    with pytest.raises(ValidationError, match="UTF-8"):
        load_policy(path)


def test_missing_file_is_a_config_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="init-policy"):
        load_policy(tmp_path / "nope.yaml")


def test_declared_actions_become_usable(write_policy: Callable[[str], Path]) -> None:
    text = """
    version: 1
    actions: [report:export]
    roles:
      a:
        permissions:
          - {action: report:export, resource: "report:*"}
          - {action: "report:*", resource: "report:*"}
    """
    policy = load_policy(write_policy(text))
    assert "report:export" in policy.actions


def test_long_inheritance_chain_loads(write_policy: Callable[[str], Path]) -> None:
    lines = ["version: 1", "roles:", "  r0: {}"]
    lines += [f"  r{i}: {{inherits: [r{i - 1}]}}" for i in range(1, 3000)]
    policy = load_policy(write_policy("\n".join(lines) + "\n"))
    assert policy.max_inheritance_depth() == 3001

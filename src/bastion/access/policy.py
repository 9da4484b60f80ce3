"""The human-written access policy: roles, permissions, principals, deny rules.

The file is YAML, read node by node (``yaml.compose``) so that every error
names the file, the line and the field.  Unknown keys, duplicate keys,
undefined roles, inheritance cycles and partial wildcards are refused: a
policy that loads is one whose meaning is unambiguous.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bastion.access.patterns import (
    BUILTIN_ACTIONS,
    action_pattern_problem,
    is_valid_action,
    resource_pattern_problem,
)
from bastion.core.errors import ConfigError, ValidationError

POLICY_VERSION = 1
MAX_POLICY_BYTES = 2 * 1024 * 1024
_ROLE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_PRINCIPAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}$")
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True, slots=True)
class Permission:
    """One grant: ``action`` pattern on ``resource`` pattern, from ``line`` of the file."""

    action: str
    resource: str
    line: int


@dataclass(frozen=True, slots=True)
class Role:
    """A named bundle of permissions that may inherit other roles' permissions."""

    name: str
    line: int
    description: str = ""
    inherits: tuple[str, ...] = ()
    permissions: tuple[Permission, ...] = ()


@dataclass(frozen=True, slots=True)
class PrincipalBinding:
    """A principal id and the roles it holds directly."""

    id: str
    line: int
    roles: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class DenyRule:
    """An explicit refusal that beats every allow.

    It applies to one ``role`` (and everyone holding it, directly or through
    inheritance), one ``principal``, or everyone when neither is given.
    """

    action: str
    resource: str
    line: int
    role: str | None = None
    principal: str | None = None
    reason: str = ""

    @property
    def subject(self) -> str:
        """Who the rule applies to, for people: ``role:x``, ``principal:y`` or ``everyone``."""
        if self.role is not None:
            return f"role:{self.role}"
        if self.principal is not None:
            return f"principal:{self.principal}"
        return "everyone"


@dataclass(frozen=True)
class Policy:
    """A validated policy; build one with :func:`load_policy` or :func:`parse_policy`."""

    source: str
    roles: Mapping[str, Role]
    principals: Mapping[str, PrincipalBinding]
    deny: tuple[DenyRule, ...] = ()
    actions: frozenset[str] = field(default=BUILTIN_ACTIONS)

    def inherited_roles(self, role: str) -> tuple[str, ...]:
        """``role`` and every role it inherits, nearest first."""
        seen: dict[str, None] = {}
        queue = deque([role])
        while queue:
            name = queue.popleft()
            if name in seen or name not in self.roles:
                continue
            seen[name] = None
            queue.extend(self.roles[name].inherits)
        return tuple(seen)

    def effective_roles(self, principal: str) -> tuple[str, ...]:
        """Every role a principal holds, directly or by inheritance (empty if unknown)."""
        binding = self.principals.get(principal)
        if binding is None:
            return ()
        result: dict[str, None] = {}
        for direct in binding.roles:
            for role in self.inherited_roles(direct):
                result.setdefault(role, None)
        return tuple(result)

    def role_chain(self, principal: str, role: str) -> tuple[str, ...]:
        """Shortest path ``principal → role → … → role``; empty when not held."""
        binding = self.principals.get(principal)
        if binding is None:
            return ()
        parents: dict[str, str | None] = {}
        queue: deque[str] = deque()
        for direct in binding.roles:
            if direct not in parents:
                parents[direct] = None
                queue.append(direct)
        while queue:
            name = queue.popleft()
            if name == role:
                chain = [name]
                parent = parents[name]
                while parent is not None:
                    chain.append(parent)
                    parent = parents[parent]
                return (principal, *reversed(chain))
            for inherited in self.roles[name].inherits:
                if inherited not in parents:
                    parents[inherited] = name
                    queue.append(inherited)
        return ()

    def max_inheritance_depth(self) -> int:
        """Length of the longest principal → role chain (casbin needs it as a bound)."""
        depth: dict[str, int] = {}
        for start in self.roles:
            stack = [start]
            while stack:
                name = stack[-1]
                if name in depth:
                    stack.pop()
                    continue
                pending = [p for p in self.roles[name].inherits if p not in depth]
                if pending:
                    if len(stack) > len(self.roles):
                        raise ConfigError(f"{self.source}: role inheritance cycle through {name!r}")
                    stack.extend(pending)
                    continue
                depth[name] = 1 + max((depth[p] for p in self.roles[name].inherits), default=0)
                stack.pop()
        return 1 + max(depth.values(), default=0)


# Loading ---------------------------------------------------------------------


class _Reader:
    """Walks composed YAML nodes, turning every surprise into a located ValidationError."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str, node: yaml.Node | None, field_path: str | None) -> ValidationError:
        line = node.start_mark.line + 1 if node is not None else None
        return ValidationError(message, file=self.source, line=line, field=field_path)

    def mapping(
        self,
        node: yaml.Node,
        field_path: str,
        *,
        allowed: frozenset[str] | None = None,
        required: tuple[str, ...] = (),
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail("expected a mapping (key: value lines)", node, field_path or None)
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.text(key_node, field_path or None, what="key")
            child = f"{field_path}.{key}" if field_path else key
            if key in entries:
                raise self.fail("duplicate key", key_node, child)
            if allowed is not None and key not in allowed:
                raise self.fail(
                    f"unknown key; expected one of: {', '.join(sorted(allowed))}", key_node, child
                )
            entries[key] = (key_node, value_node)
        for key in required:
            if key not in entries:
                where = f"{field_path}.{key}" if field_path else key
                raise self.fail("required field is missing", node, where)
        return entries

    def sequence(self, node: yaml.Node, field_path: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail("expected a list", node, field_path)
        return list(node.value)

    def text(self, node: yaml.Node, field_path: str | None, *, what: str = "value") -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR_TAG:
            raise self.fail(f"expected a text {what} (quote it if in doubt)", node, field_path)
        value = str(node.value)
        if not value.strip():
            raise self.fail(f"{what} is empty", node, field_path)
        return value

    def names(self, node: yaml.Node, field_path: str) -> Iterator[tuple[str, yaml.Node, str]]:
        """A single name or a list of names, each with its node and field path."""
        if isinstance(node, yaml.ScalarNode):
            yield self.text(node, field_path), node, field_path
            return
        for index, item in enumerate(self.sequence(node, field_path)):
            path = f"{field_path}[{index}]"
            yield self.text(item, path), item, path


_TOP_KEYS = frozenset({"version", "actions", "roles", "principals", "deny"})
_ROLE_KEYS = frozenset({"description", "inherits", "permissions"})
_PERMISSION_KEYS = frozenset({"action", "resource"})
_PRINCIPAL_KEYS = frozenset({"roles", "description"})
_DENY_KEYS = frozenset({"action", "resource", "role", "principal", "reason"})


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate policy YAML; ``source`` names the file in errors."""
    reader = _Reader(source)
    root = _compose(text, source)
    top = reader.mapping(root, "", allowed=_TOP_KEYS, required=("version", "roles"))

    version_node = top["version"][1]
    if not (
        isinstance(version_node, yaml.ScalarNode)
        and version_node.tag == "tag:yaml.org,2002:int"
        and int(version_node.value) == POLICY_VERSION
    ):
        raise reader.fail(
            f"this Bastion reads policy version {POLICY_VERSION}", version_node, "version"
        )

    actions = set(BUILTIN_ACTIONS)
    if "actions" in top:
        for name, node, path in reader.names(top["actions"][1], "actions"):
            if not is_valid_action(name):
                raise reader.fail(
                    "actions look like 'report:export' or 'predict' (lowercase, no '*')", node, path
                )
            actions.add(name)
    known_actions = frozenset(actions)

    roles = _read_roles(reader, top["roles"][1], known_actions)
    principals = (
        _read_principals(reader, top["principals"][1], roles) if "principals" in top else {}
    )
    deny = (
        _read_deny(reader, top["deny"][1], known_actions, roles, principals)
        if "deny" in top
        else ()
    )
    _refuse_cycles(reader, top["roles"][1], roles)
    return Policy(
        source=source, roles=roles, principals=principals, deny=deny, actions=known_actions
    )


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_POLICY_BYTES:
            raise ValidationError(
                f"policy file is {size} bytes; the limit is {MAX_POLICY_BYTES}", file=source
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{source}: policy file not found; create one with `bastion access init-policy`"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 text (byte {exc.start})", file=source) from exc
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read policy file ({exc.strerror})") from exc
    return parse_policy(text, source)


def _compose(text: str, source: str) -> yaml.Node:
    try:
        # Aliases would let a small file expand into a huge one, and hide who gets what.
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else None
                raise ValidationError(
                    "YAML aliases (*name) are not allowed in policy files; "
                    "quote a literal '*' as \"*\"",
                    file=source,
                    line=line,
                )
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "malformed YAML"
        if "alphabetic or numeric character" in problem:
            problem += ' (YAML reads a bare * as an alias; quote a literal star: "*")'
        raise ValidationError(f"invalid YAML: {problem}", file=source, line=line) from None
    except yaml.YAMLError as exc:
        raise ValidationError(f"invalid YAML: {exc}", file=source) from None
    if node is None:
        raise ValidationError("policy file is empty", file=source, line=1)
    return node


def _read_permission(
    reader: _Reader, node: yaml.Node, path: str, known_actions: frozenset[str]
) -> tuple[str, str]:
    entries = reader.mapping(node, path, allowed=_PERMISSION_KEYS, required=("action", "resource"))
    action_node = entries["action"][1]
    action = reader.text(action_node, f"{path}.action")
    problem = action_pattern_problem(action, known_actions)
    if problem:
        raise reader.fail(problem, action_node, f"{path}.action")
    resource_node = entries["resource"][1]
    resource = reader.text(resource_node, f"{path}.resource")
    problem = resource_pattern_problem(resource)
    if problem:
        raise reader.fail(problem, resource_node, f"{path}.resource")
    return action, resource


def _read_roles(reader: _Reader, node: yaml.Node, known_actions: frozenset[str]) -> dict[str, Role]:
    entries = reader.mapping(node, "roles")
    if not entries:
        raise reader.fail("define at least one role", node, "roles")
    roles: dict[str, Role] = {}
    for name, (key_node, value_node) in entries.items():
        path = f"roles.{name}"
        if not _ROLE_NAME.fullmatch(name):
            raise reader.fail(
                "role names are lowercase letters, digits and '-', starting with a letter",
                key_node,
                path,
            )
        fields = reader.mapping(value_node, path, allowed=_ROLE_KEYS)
        description = (
            reader.text(fields["description"][1], f"{path}.description")
            if "description" in fields
            else ""
        )
        inherits: list[str] = []
        if "inherits" in fields:
            for parent, parent_node, parent_path in reader.names(
                fields["inherits"][1], f"{path}.inherits"
            ):
                if parent not in entries:
                    raise reader.fail(f"role {parent!r} is not defined", parent_node, parent_path)
                if parent == name:
                    raise reader.fail("a role cannot inherit itself", parent_node, parent_path)
                if parent not in inherits:
                    inherits.append(parent)
        permissions: list[Permission] = []
        if "permissions" in fields:
            items = reader.sequence(fields["permissions"][1], f"{path}.permissions")
            for index, item in enumerate(items):
                action, resource = _read_permission(
                    reader, item, f"{path}.permissions[{index}]", known_actions
                )
                permissions.append(Permission(action, resource, item.start_mark.line + 1))
        roles[name] = Role(
            name=name,
            line=key_node.start_mark.line + 1,
            description=description,
            inherits=tuple(inherits),
            permissions=tuple(permissions),
        )
    return roles


def _read_principals(
    reader: _Reader, node: yaml.Node, roles: Mapping[str, Role]
) -> dict[str, PrincipalBinding]:
    principals: dict[str, PrincipalBinding] = {}
    for principal_id, (key_node, value_node) in reader.mapping(node, "principals").items():
        path = f"principals.{principal_id}"
        if not _PRINCIPAL_ID.fullmatch(principal_id):
            raise reader.fail(
                "principal ids are 1-128 characters of letters, digits and . _ @ : + -",
                key_node,
                path,
            )
        fields = reader.mapping(value_node, path, allowed=_PRINCIPAL_KEYS, required=("roles",))
        held: list[str] = []
        for role, role_node, role_path in reader.names(fields["roles"][1], f"{path}.roles"):
            if role not in roles:
                raise reader.fail(f"role {role!r} is not defined", role_node, role_path)
            if role not in held:
                held.append(role)
        description = (
            reader.text(fields["description"][1], f"{path}.description")
            if "description" in fields
            else ""
        )
        principals[principal_id] = PrincipalBinding(
            id=principal_id,
            line=key_node.start_mark.line + 1,
            roles=tuple(held),
            description=description,
        )
    return principals


def _read_deny(
    reader: _Reader,
    node: yaml.Node,
    known_actions: frozenset[str],
    roles: Mapping[str, Role],
    principals: Mapping[str, PrincipalBinding],
) -> tuple[DenyRule, ...]:
    rules: list[DenyRule] = []
    for index, item in enumerate(reader.sequence(node, "deny")):
        path = f"deny[{index}]"
        action, resource = _read_permission(
            reader,
            _without(item, {"role", "principal", "reason"}),
            path,
            known_actions,
        )
        fields = reader.mapping(item, path, allowed=_DENY_KEYS)
        role = principal = None
        if "role" in fields and "principal" in fields:
            raise reader.fail(
                "give 'role' or 'principal', not both (write two rules)",
                fields["principal"][0],
                f"{path}.principal",
            )
        if "role" in fields:
            role = reader.text(fields["role"][1], f"{path}.role")
            if role not in roles:
                raise reader.fail(
                    f"role {role!r} is not defined", fields["role"][1], f"{path}.role"
                )
        if "principal" in fields:
            principal = reader.text(fields["principal"][1], f"{path}.principal")
            if principal not in principals:
                raise reader.fail(
                    f"principal {principal!r} is not defined under 'principals'",
                    fields["principal"][1],
                    f"{path}.principal",
                )
        reason = reader.text(fields["reason"][1], f"{path}.reason") if "reason" in fields else ""
        rules.append(
            DenyRule(
                action=action,
                resource=resource,
                line=item.start_mark.line + 1,
                role=role,
                principal=principal,
                reason=reason,
            )
        )
    return tuple(rules)


def _without(node: yaml.Node, keys: set[str]) -> yaml.Node:
    """A copy of a mapping node without ``keys`` (so the permission reader can be reused)."""
    if not isinstance(node, yaml.MappingNode):
        return node
    kept = [
        (key, value)
        for key, value in node.value
        if not (isinstance(key, yaml.ScalarNode) and key.value in keys)
    ]
    return yaml.MappingNode(node.tag, kept, node.start_mark, node.end_mark, node.flow_style)


def _refuse_cycles(reader: _Reader, roles_node: yaml.Node, roles: Mapping[str, Role]) -> None:
    """Refuse inheritance cycles, naming the ``inherits`` entry that closes one.

    Iterative depth-first search, so a long (generated) chain cannot exhaust the stack.
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for start in roles:
        if start in state:
            continue
        state[start] = 1
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            name, index = stack[-1]
            parents = roles[name].inherits
            if index == len(parents):
                state[name] = 2
                stack.pop()
                continue
            stack[-1] = (name, index + 1)
            parent = parents[index]
            if state.get(parent) == 1:
                on_path = [entry for entry, _ in stack]
                cycle = [*on_path[on_path.index(parent) :], parent]
                raise reader.fail(
                    "role inheritance cycle: " + " → ".join(cycle),
                    _inherits_item(reader, roles_node, name, parent),
                    f"roles.{name}.inherits",
                )
            if parent not in state:
                state[parent] = 1
                stack.append((parent, 0))


def _inherits_item(reader: _Reader, roles_node: yaml.Node, role: str, parent: str) -> yaml.Node:
    fields = reader.mapping(reader.mapping(roles_node, "roles")[role][1], f"roles.{role}")
    inherits_node = fields["inherits"][1]
    if isinstance(inherits_node, yaml.SequenceNode):
        for item in inherits_node.value:
            if isinstance(item, yaml.ScalarNode) and item.value == parent:
                return item
    return inherits_node

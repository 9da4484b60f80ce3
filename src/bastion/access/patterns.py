"""Action and resource names, and the wildcard patterns that grant them.

Resources are ``kind:segment/segment/...`` (``dataset:clinical/notes``).  A
pattern may use ``*`` only as a *whole* segment: inside a pattern it stands for
exactly one segment, at the end for one or more (everything below).  Partial
wildcards such as ``dataset:clinical*`` are refused because prefix matching on
names is how ``clinical`` ends up granting ``clinical-other``; this is also why
we do not use casbin's ``keyMatch`` (a raw string prefix match) as is.

Request resources are concrete: no ``*``, no empty, ``.`` or ``..`` segments,
so ``dataset:clinical/../finance`` cannot slip under ``dataset:clinical/*``.
"""

from __future__ import annotations

import re

WILDCARD = "*"
MAX_NAME_LENGTH = 512
MAX_ACTION_LENGTH = 100

#: Actions Bastion's own rooms ask for; policies may declare more under ``actions:``.
BUILTIN_ACTIONS: frozenset[str] = frozenset(
    {
        "dataset:read",
        "dataset:write",
        "model:train",
        "model:read",
        "model:deploy",
        "audit:read",
        "audit:verify",
        "risk:signoff",
        "keys:init",
        "predict",
    }
)

_ACTION = re.compile(r"^[a-z][a-z0-9-]*(:[a-z][a-z0-9-]*)?$")
_KIND = re.compile(r"^[a-z][a-z0-9-]*$")
_SEGMENT = re.compile(r"^[A-Za-z0-9_@+=,.:-]+$")


def is_valid_action(action: str) -> bool:
    """True for a concrete action name such as ``dataset:read`` or ``predict``."""
    return len(action) <= MAX_ACTION_LENGTH and bool(_ACTION.fullmatch(action))


def action_pattern_problem(pattern: str, known: frozenset[str]) -> str | None:
    """Why ``pattern`` is not a usable action pattern, or ``None`` when it is.

    Allowed: a known action, ``kind:*`` (every action of one kind), or ``*``.
    """
    if pattern == WILDCARD:
        return None
    if pattern.endswith(":*"):
        kind = pattern[:-2]
        if _KIND.fullmatch(kind) and any(action.startswith(kind + ":") for action in known):
            return None
        return f"no known action has the kind {kind!r}"
    if WILDCARD in pattern:
        return "'*' is allowed only as the whole action or as 'kind:*'"
    if not is_valid_action(pattern):
        return "actions look like 'dataset:read' or 'predict' (lowercase letters, digits, '-')"
    if pattern not in known:
        return (
            f"unknown action {pattern!r}; known: {', '.join(sorted(known))} "
            "(declare new ones under 'actions:')"
        )
    return None


def action_matches(action: str, pattern: str) -> bool:
    """True when the concrete ``action`` falls under ``pattern``."""
    if not pattern:
        return False
    if pattern == WILDCARD:
        return True
    if pattern.endswith(":*"):
        prefix = pattern[:-1]
        return action.startswith(prefix) and len(action) > len(prefix)
    return action == pattern


def _split(name: str) -> tuple[str, list[str]] | None:
    kind, sep, path = name.partition(":")
    if not sep or not _KIND.fullmatch(kind):
        return None
    return kind, path.split("/")


def resource_problem(resource: str) -> str | None:
    """Why ``resource`` is not a valid concrete resource name, or ``None``."""
    if len(resource) > MAX_NAME_LENGTH:
        return f"resource names are at most {MAX_NAME_LENGTH} characters"
    parts = _split(resource)
    if parts is None:
        return "resources look like 'kind:name/sub-name' (e.g. 'dataset:clinical/notes')"
    for segment in parts[1]:
        if segment in {"", ".", ".."}:
            return "resource names have no empty, '.' or '..' segments"
        if not _SEGMENT.fullmatch(segment):
            return "resource segments use letters, digits and _ @ + = , . : - only"
    return None


def resource_pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable resource pattern, or ``None``."""
    if pattern == WILDCARD:
        return None
    if len(pattern) > MAX_NAME_LENGTH:
        return f"resource patterns are at most {MAX_NAME_LENGTH} characters"
    parts = _split(pattern)
    if parts is None:
        return "resource patterns look like 'dataset:clinical/*' or 'model:*' or '*'"
    for segment in parts[1]:
        if segment == WILDCARD:
            continue
        if WILDCARD in segment:
            return (
                f"'*' must be a whole segment ({segment!r} mixes it with text); "
                "write e.g. 'dataset:clinical/*'"
            )
        if segment in {"", ".", ".."}:
            return "resource patterns have no empty, '.' or '..' segments"
        if not _SEGMENT.fullmatch(segment):
            return "resource segments use letters, digits and _ @ + = , . : - only"
    return None


def resource_matches(resource: str, pattern: str) -> bool:
    """True when the concrete ``resource`` falls under ``pattern``.

    Both are assumed valid (checked when the policy is loaded and per request).
    """
    if not pattern:
        return False
    if pattern == WILDCARD:
        return True
    wanted = _split(pattern)
    given = _split(resource)
    if wanted is None or given is None or wanted[0] != given[0]:
        return False
    pattern_segments, resource_segments = wanted[1], given[1]
    if pattern_segments[-1] == WILDCARD:
        head = pattern_segments[:-1]
        if len(resource_segments) <= len(head):
            return False
    elif len(resource_segments) != len(pattern_segments):
        return False
    else:
        head = pattern_segments
    return all(p in (WILDCARD, r) for p, r in zip(head, resource_segments, strict=False))

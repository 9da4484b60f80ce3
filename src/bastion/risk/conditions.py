"""A small, safe condition language for threat rules (structured data, never ``eval``).

A condition is a mapping: ``{all: [...]}``, ``{any: [...]}``, ``{not: cond}``
or a leaf ``{field: NAME, OP: VALUE}`` with OP one of ``in`` (value is one of a
list), ``any_of`` (a set-valued field shares a member with the list),
``equals``, ``is`` (boolean) and ``exists``.  Evaluation returns whether it
matched and the facts that made it match, so every threat can say why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bastion.core.errors import ValidationError
from bastion.risk.yamlsrc import where

LEAF_OPS = ("in", "any_of", "equals", "is", "exists")
_MISSING = object()

Resolver = Callable[[str], Any]


@dataclass(frozen=True)
class Condition:
    """A compiled condition tree."""

    op: str
    field: str = ""
    value: Any = None
    children: tuple[Condition, ...] = ()

    def evaluate(self, resolve: Resolver) -> tuple[bool, list[str]]:
        """Match against a record; the second item lists the facts that decided it."""
        if self.op == "all":
            reasons: list[str] = []
            for child in self.children:
                ok, why = child.evaluate(resolve)
                if not ok:
                    return False, []
                reasons.extend(why)
            return True, reasons
        if self.op == "any":
            for child in self.children:
                ok, why = child.evaluate(resolve)
                if ok:
                    return True, why
            return False, []
        if self.op == "not":
            ok, _ = self.children[0].evaluate(resolve)
            return (not ok), ([f"not ({self.children[0].describe()})"] if not ok else [])
        return self._leaf(resolve)

    def _leaf(self, resolve: Resolver) -> tuple[bool, list[str]]:
        actual = resolve(self.field)
        if self.op == "exists":
            present = actual is not _MISSING and actual is not None
            ok = present == bool(self.value)
            return ok, [f"{self.field} {'is set' if present else 'is not set'}"] if ok else []
        if actual is _MISSING or actual is None:
            return False, []
        if self.op == "in":
            ok = _hashable(actual) and actual in self.value
            return ok, [f"{self.field} = {actual}"] if ok else []
        if self.op == "equals":
            ok = actual == self.value
            return ok, [f"{self.field} = {self.value}"] if ok else []
        if self.op == "is":
            ok = bool(actual) is self.value
            return ok, [f"{self.field} is {str(self.value).lower()}"] if ok else []
        members = actual if isinstance(actual, (list, tuple, set, frozenset)) else (actual,)
        shared = sorted({str(m) for m in members if _hashable(m) and m in self.value})
        return bool(shared), [f"{self.field} includes {', '.join(shared)}"] if shared else []

    def describe(self) -> str:
        """Human-readable form of the condition."""
        if self.op in ("all", "any"):
            joiner = " and " if self.op == "all" else " or "
            return "(" + joiner.join(c.describe() for c in self.children) + ")"
        if self.op == "not":
            return "not " + self.children[0].describe()
        return f"{self.field} {self.op} {self.value}"


MISSING = _MISSING


def _hashable(value: Any) -> bool:
    """Property values may be lists or mappings; only scalars can equal a listed value."""
    return not isinstance(value, (list, dict, set))


def compile_condition(raw: Any, allowed_field: Callable[[str], bool], context: str) -> Condition:
    """Validate and compile a condition mapping; errors name file, line and field."""
    if not isinstance(raw, Mapping):
        raise ValidationError("a condition must be a mapping", field=context, **where(raw))
    keys = set(raw)
    if keys & {"all", "any"}:
        if len(keys) != 1:
            raise ValidationError(
                f"'all'/'any' must stand alone, got {sorted(keys)}", field=context, **where(raw)
            )
        op = next(iter(keys))
        items = raw[op]
        if not isinstance(items, Sequence) or isinstance(items, str) or not items:
            raise ValidationError(
                f"'{op}' needs a non-empty list", field=f"{context}.{op}", **where(raw, op)
            )
        children = tuple(
            compile_condition(item, allowed_field, f"{context}.{op}") for item in items
        )
        return Condition(op=op, children=children)
    if "not" in keys:
        if len(keys) != 1:
            raise ValidationError("'not' must stand alone", field=context, **where(raw))
        return Condition(
            op="not", children=(compile_condition(raw["not"], allowed_field, f"{context}.not"),)
        )
    if "field" not in keys:
        raise ValidationError(
            f"unknown condition keys {sorted(keys)}; "
            f"use all/any/not or field + one of {list(LEAF_OPS)}",
            field=context,
            **where(raw),
        )
    name = raw["field"]
    if not isinstance(name, str) or not allowed_field(name):
        raise ValidationError(
            f"unknown condition field {name!r}", field=f"{context}.field", **where(raw, "field")
        )
    ops = keys - {"field"}
    if len(ops) != 1 or next(iter(ops)) not in LEAF_OPS:
        raise ValidationError(
            f"a leaf needs exactly one operator of {list(LEAF_OPS)}, got {sorted(ops)}",
            field=context,
            **where(raw),
        )
    op = next(iter(ops))
    value = raw[op]
    if op in ("in", "any_of"):
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise ValidationError(f"'{op}' needs a list", field=f"{context}.{op}", **where(raw, op))
        value = frozenset(value)
    elif op in ("is", "exists") and not isinstance(value, bool):
        raise ValidationError(
            f"'{op}' needs true or false", field=f"{context}.{op}", **where(raw, op)
        )
    return Condition(op=op, field=name, value=value)

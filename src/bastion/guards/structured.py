"""SQL and shell injection patterns for request fields declared structured.

Free text legitimately contains quotes, semicolons and the word "select"; a
field that names a customer ID or a sort column does not.  So these patterns
run only on fields the policy declares structured (or on the scanned text
when the caller marks it ``structured``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bastion.guards.base import Action, Guard, ScanContext, Verdict

_SQL: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "sql-injection:tautology",
        re.compile(
            r"['\"`)]\s*(?:or|and|\|\||&&)\s*['\"(]?\s*\w+\s*['\")]?\s*(?:=|<|>|like\b|is\b)", re.I
        ),
    ),
    ("sql-injection:tautology", re.compile(r"\bor\s+(\d+)\s*=\s*\1\b", re.I)),
    ("sql-injection:union", re.compile(r"\bunion\b(?:\s+all)?\s+select\b", re.I)),
    (
        "sql-injection:stacked-query",
        re.compile(
            r";\s*(?:drop|delete|insert|update|alter|create|truncate|exec|execute|grant|shutdown)\b",
            re.I,
        ),
    ),
    ("sql-injection:comment", re.compile(r"['\"`]\s*(?:--|#|/\*)|/\*.*?\*/", re.S)),
    (
        "sql-injection:time-based",
        re.compile(r"\b(?:sleep\s*\(|benchmark\s*\(|waitfor\s+delay|pg_sleep\s*\()", re.I),
    ),
    (
        "sql-injection:schema-probe",
        re.compile(r"\b(?:information_schema|sqlite_master|pg_catalog|xp_cmdshell)\b", re.I),
    ),
)
_SHELL: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("shell-injection:command-substitution", re.compile(r"`[^`]*`|\$\([^)]*\)|\$\{[^}]*\}")),
    ("shell-injection:command-chaining", re.compile(r"(?:;|&&|\|\||\|)\s*[A-Za-z./~]")),
    ("shell-injection:redirection", re.compile(r"(?:^|\s)\d?>>?\s*[/~\w]|<\s*/")),
    ("shell-injection:newline", re.compile(r"[\r\n]\s*[A-Za-z./~]")),
    ("shell-injection:path-traversal", re.compile(r"(?:\.\./|\.\.\\){1,}")),
)


def injection_reasons(value: str) -> list[str]:
    """Reason codes of every SQL or shell injection pattern found in one field value."""
    return [reason for reason, pattern in (*_SQL, *_SHELL) if pattern.search(value)]


class StructuredInjectionGuard(Guard):
    """Check declared structured fields (``fields``; ``["*"]`` for all) for injection."""

    kind = "structured-injection"
    default_action = Action.BLOCK

    def __init__(self, *, fields: Sequence[str] = ("*",), **common: Any) -> None:
        super().__init__(**common)
        self.fields = tuple(fields)

    def _selected(self, context: ScanContext) -> list[tuple[str, str]]:
        if "*" in self.fields:
            return list(context.fields.items())
        return [(name, context.fields[name]) for name in self.fields if name in context.fields]

    def scan(self, text: str, context: ScanContext) -> Verdict:
        reasons: list[str] = []
        checked = 0
        for name, value in self._selected(context):
            checked += 1
            reasons.extend(f"{r}@{name}" for r in injection_reasons(str(value)))
        if context.structured:
            checked += 1
            reasons.extend(injection_reasons(text))
        if not reasons:
            return self.allow(scores={"fields_checked": float(checked)})
        return self.found(reasons, scores={"fields_checked": float(checked)})

"""The one guard interface: ``Guard.scan(text, context) -> Verdict``.

Every guard is small and separately testable; a chain (``bastion.guards.chain``)
composes them in policy order.  Verdicts carry reason codes, scores and spans,
never the matched values themselves, so they can be logged and audited safely.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal

from bastion.privacy.detect.span import Span

Direction = Literal["input", "output"]


class Action(StrEnum):
    """What a guard decided; ordered by severity (``allow`` < ``flag`` < ``redact`` < ``block``)."""

    ALLOW = "allow"
    FLAG = "flag"
    REDACT = "redact"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        """Rank used to combine verdicts: the most severe action wins."""
        return _SEVERITY[self]


_SEVERITY = {Action.ALLOW: 0, Action.FLAG: 1, Action.REDACT: 2, Action.BLOCK: 3}


@dataclass(frozen=True, slots=True)
class ScanContext:
    """What a guard may know about the text besides the text itself.

    ``fields`` holds structured request fields (name -> value) that the
    structured-injection guard checks; ``structured`` says the scanned text is
    itself such a field.  ``system_prompt`` and ``canaries`` feed leakage
    detection on output; ``json_schema`` demands a structured response.
    """

    direction: Direction = "input"
    fields: Mapping[str, str] = field(default_factory=dict)
    structured: bool = False
    system_prompt: str | None = None
    canaries: tuple[str, ...] = ()
    json_schema: Mapping[str, Any] | None = None

    def __repr__(self) -> str:
        # The system prompt and canaries are secrets of the deployment.
        return (
            f"ScanContext(direction={self.direction!r}, fields={sorted(self.fields)!r}, "
            f"structured={self.structured}, system_prompt={'***' if self.system_prompt else None}, "
            f"canaries={len(self.canaries)}, json_schema={self.json_schema is not None})"
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """One guard's decision on one text.

    ``spans`` index into the text the guard received; ``text`` is set only when
    the guard changed it (normalised, neutralised or redacted).
    """

    guard: str
    action: Action
    reasons: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    spans: tuple[Span, ...] = ()
    text: str | None = None

    @property
    def triggered(self) -> bool:
        """True when the guard found something (any action other than allow)."""
        return self.action is not Action.ALLOW

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output and audit events (no matched values)."""
        return {
            "guard": self.guard,
            "action": self.action.value,
            "reasons": list(self.reasons),
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "spans": [
                {"start": s.start, "end": s.end, "type": s.entity_type, "score": round(s.score, 4)}
                for s in self.spans
            ],
            "transformed": self.text is not None,
        }


class Guard(ABC):
    """A scanner for live traffic with a configured action for what it finds.

    Subclasses set ``kind`` (the policy name of the guard type) and
    ``actions`` (the actions they can carry out: only guards that can rewrite
    text support ``redact``).  ``on_error`` decides what a chain does when
    ``scan`` raises: ``block`` (fail closed, the default) or ``flag``.
    """

    kind: ClassVar[str]
    actions: ClassVar[frozenset[Action]] = frozenset({Action.BLOCK, Action.FLAG})
    default_action: ClassVar[Action] = Action.BLOCK

    def __init__(
        self,
        *,
        name: str | None = None,
        action: Action | None = None,
        on_error: Action = Action.BLOCK,
    ) -> None:
        self.name = name or self.kind
        self.action = action or self.default_action
        if self.action not in self.actions:
            allowed = ", ".join(sorted(a.value for a in self.actions))
            raise ValueError(f"guard {self.kind!r} cannot {self.action.value} (allowed: {allowed})")
        if on_error not in (Action.BLOCK, Action.FLAG):
            raise ValueError("on_error must be block or flag")
        self.on_error = on_error

    @abstractmethod
    def scan(self, text: str, context: ScanContext) -> Verdict:
        """Inspect ``text`` and return a verdict; may raise, the chain fails closed."""

    # Helpers for subclasses ----------------------------------------------------
    def allow(
        self, *, scores: Mapping[str, float] | None = None, text: str | None = None
    ) -> Verdict:
        """A clean verdict (optionally with a harmlessly transformed text)."""
        return Verdict(self.name, Action.ALLOW, scores=dict(scores or {}), text=text)

    def found(
        self,
        reasons: list[str] | tuple[str, ...],
        *,
        scores: Mapping[str, float] | None = None,
        spans: tuple[Span, ...] = (),
        redacted: str | None = None,
        normalised: str | None = None,
    ) -> Verdict:
        """A verdict for findings, applying the configured action.

        ``redacted`` is the text with findings removed (used for ``redact``);
        ``normalised`` is a harmless rewrite kept for ``flag`` and ``allow``.
        """
        unique = tuple(dict.fromkeys(reasons))
        text: str | None
        if self.action is Action.REDACT:
            text = redacted if redacted is not None else normalised
        elif self.action is Action.BLOCK:
            text = None
        else:
            text = normalised
        return Verdict(
            self.name,
            self.action,
            reasons=unique,
            scores=dict(scores or {}),
            spans=spans,
            text=text,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, action={self.action.value!r})"


def merge_spans(spans: list[Span]) -> tuple[Span, ...]:
    """Sort spans and drop those overlapping an earlier, longer-or-equal one."""
    result: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.length)):
        if result and span.overlaps(result[-1]):
            if span.end > result[-1].end and span.score > result[-1].score:
                result[-1] = Span(
                    result[-1].start, span.end, span.entity_type, span.score, span.recognizer
                )
            continue
        result.append(span)
    return tuple(result)


def replace_spans(text: str, spans: tuple[Span, ...], template: str = "[{type}]") -> str:
    """Rewrite ``text`` with each (non-overlapping, sorted) span replaced by a label."""
    out: list[str] = []
    last = 0
    for span in spans:
        out.append(text[last : span.start])
        out.append(template.format(type=span.entity_type))
        last = span.end
    out.append(text[last:])
    return "".join(out)

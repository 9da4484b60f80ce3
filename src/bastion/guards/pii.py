"""PII leakage in model output (or input), detected by the privacy engine and redacted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from bastion.guards.base import Action, Guard, ScanContext, Verdict, replace_spans
from bastion.privacy.detect.span import Span


class Analyzer(Protocol):
    """What the guard needs from a PII engine (``bastion.privacy.detect.Engine`` satisfies it)."""

    def analyze(self, text: str) -> list[Span]: ...


def _default_engine() -> Analyzer:
    from bastion.privacy.detect import default_engine

    return default_engine()


class PIIGuard(Guard):
    """Find personal data with the privacy engine; ``redact`` (default) replaces it with ``<TYPE>``.

    ``entities`` limits the types reported (default: all the engine supports);
    ``min_score`` drops weak detections.
    """

    kind = "pii"
    actions = frozenset({Action.REDACT, Action.BLOCK, Action.FLAG})
    default_action = Action.REDACT

    def __init__(
        self,
        *,
        entities: Sequence[str] | None = None,
        min_score: float = 0.5,
        engine: Analyzer | Callable[[], Analyzer] | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if not 0.0 <= min_score <= 1.0:
            raise ValueError("min_score must be in [0, 1]")
        self.entities = frozenset(entities) if entities else None
        self.min_score = min_score
        if engine is None:
            self._engine = _default_engine()
        elif callable(engine) and not hasattr(engine, "analyze"):
            self._engine = engine()
        else:
            self._engine = engine  # type: ignore[assignment]

    def scan(self, text: str, context: ScanContext) -> Verdict:
        if not text:
            return self.allow()
        spans = tuple(
            s
            for s in self._engine.analyze(text)
            if s.score >= self.min_score
            and (self.entities is None or s.entity_type in self.entities)
        )
        if not spans:
            return self.allow()
        reasons = [f"pii:{s.entity_type}" for s in spans]
        return self.found(
            reasons,
            scores={"pii_spans": float(len(spans))},
            spans=spans,
            redacted=replace_spans(text, spans, "<{type}>"),
        )

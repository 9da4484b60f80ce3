"""PII leakage in model output (or input), detected by the privacy engine and redacted."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from bastion.guards.base import Action, Guard, ScanContext, Verdict, replace_spans
from bastion.privacy.detect.span import Span


class Analyzer(Protocol):
    """What the guard needs from a PII engine (``bastion.privacy.detect.Engine`` satisfies it).

    An engine that also takes ``entities=`` and lists ``supported_entities``
    is asked only for the types the policy wants, so it can skip the other
    recognizers.
    """

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
        self._wanted = self._engine_entities()

    def _engine_entities(self) -> frozenset[str] | None:
        """The entity types to request from the engine, or None to request all of them.

        Only types the engine supports are requested (unknown names never
        matched anything, and the engine would refuse them); the result is
        still filtered by ``entities`` after the call.
        """
        supported = getattr(self._engine, "supported_entities", None)
        if self.entities is None or not isinstance(supported, frozenset | set):
            return None
        try:
            parameters = inspect.signature(self._engine.analyze).parameters
        except (TypeError, ValueError):
            return None
        if "entities" not in parameters:
            return None
        return frozenset(self.entities & supported)

    def scan(self, text: str, context: ScanContext) -> Verdict:
        if not text:
            return self.allow()
        if self._wanted is None:
            found = self._engine.analyze(text)  # one call per text
        elif self._wanted:
            found = self._engine.analyze(text, entities=self._wanted)  # type: ignore[call-arg]
        else:
            found = []  # none of the wanted types can be detected by this engine
        spans = tuple(
            s
            for s in found
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

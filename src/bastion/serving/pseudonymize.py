"""Reversible placeholders for PII in prompts sent to third-party models.

Each request gets its own :class:`PseudonymSession`: the same value maps to the
same placeholder (``<PERSON_1>``) within the request, the mapping lives only
in that object (never logged, never persisted, not in ``repr``) and is
dropped with it.  The upstream sees placeholders; the caller sees the answer
with the original values put back.
"""

from __future__ import annotations

import re
from typing import Protocol

from bastion.privacy.detect import Span

_PLACEHOLDER = re.compile(r"<([A-Z][A-Z_]{0,30})_(\d{1,4})>")


class Analyzer(Protocol):
    """``bastion.privacy.detect.Engine`` or anything with the same ``analyze``."""

    def analyze(self, text: str) -> list[Span]: ...


class PseudonymSession:
    """Placeholders for one request."""

    def __init__(self, analyzer: Analyzer) -> None:
        self._analyzer = analyzer
        self._forward: dict[tuple[str, str], str] = {}
        self._backward: dict[str, str] = {}
        self._counters: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<PseudonymSession placeholders={len(self._backward)}>"

    @property
    def count(self) -> int:
        """How many distinct values were replaced."""
        return len(self._backward)

    def _placeholder(self, entity: str, value: str) -> str:
        key = (entity, value)
        existing = self._forward.get(key)
        if existing is not None:
            return existing
        label = re.sub(r"[^A-Z_]", "_", entity.upper())[:30] or "PII"
        number = self._counters.get(label, 0) + 1
        self._counters[label] = number
        placeholder = f"<{label}_{number}>"
        self._forward[key] = placeholder
        self._backward[placeholder] = value
        return placeholder

    def mask(self, text: str) -> str:
        """``text`` with every detected value replaced by its placeholder."""
        spans = sorted(self._analyzer.analyze(text), key=lambda span: span.start)
        pieces: list[str] = []
        cursor = 0
        for span in spans:
            if span.start < cursor:
                continue  # overlapping spans: the first one already covers it
            pieces.append(text[cursor : span.start])
            pieces.append(self._placeholder(span.entity_type, text[span.start : span.end]))
            cursor = span.end
        pieces.append(text[cursor:])
        return "".join(pieces)

    def unmask(self, text: str) -> str:
        """Put the original values back wherever the upstream echoed a placeholder."""

        def restore(match: re.Match[str]) -> str:
            return self._backward.get(match.group(0), match.group(0))

        return _PLACEHOLDER.sub(restore, text)


class Pseudonymizer:
    """Makes one :class:`PseudonymSession` per request over a shared detector."""

    def __init__(self, analyzer: Analyzer) -> None:
        self._analyzer = analyzer

    @classmethod
    def default(cls) -> Pseudonymizer:
        """Over ``bastion.privacy.detect.default_engine()`` (offline)."""
        from bastion.privacy.detect import default_engine

        return cls(default_engine())

    def session(self) -> PseudonymSession:
        """A fresh, empty mapping for one request."""
        return PseudonymSession(self._analyzer)

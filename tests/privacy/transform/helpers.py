"""Hand-made spans and a tiny fake engine, independent of the real detectors."""

from __future__ import annotations

import re

from bastion.privacy.detect.span import Span

PATTERNS: dict[str, re.Pattern[str]] = {
    "EMAIL_ADDRESS": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    "US_SSN": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "PHONE_NUMBER": re.compile(r"\(?\b\d{3}\)?[-. ]\d{3}-\d{4}\b"),
    "DATE_TIME": re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{4}-\d{2}-\d{2}\b"),
    "PERSON": re.compile(r"(?<=(?:Dr|Mr|Ms)\. )[A-Z][a-z]+(?: [A-Z][a-z]+)?"),
}


class FakeEngine:
    """Regex detection with the real engine's contract: sorted, non-overlapping spans."""

    def analyze(self, text: str, entities: list[str] | None = None) -> list[Span]:
        found: list[Span] = []
        for entity, pattern in PATTERNS.items():
            if entities is not None and entity not in entities:
                continue
            found += [
                Span(m.start(), m.end(), entity, 0.9, "fake", "regex")
                for m in pattern.finditer(text)
            ]
        found.sort(key=lambda s: (s.start, -s.length))
        kept: list[Span] = []
        for span in found:
            if not kept or not kept[-1].overlaps(span):
                kept.append(span)
        return kept


def fake_engine() -> FakeEngine:
    """Module-level factory, so process pools can build the engine in each worker."""
    return FakeEngine()


def spans_of(text: str, entity: str, *values: str) -> list[Span]:
    """A span for every occurrence of each value."""
    spans = []
    for value in values:
        for match in re.finditer(re.escape(value), text):
            spans.append(Span(match.start(), match.end(), entity, 1.0))
    return sorted(spans)

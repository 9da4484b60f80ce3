"""The recognizer contract and the regex-based recognizer most detectors are built from."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol, runtime_checkable

from bastion.privacy.detect.span import Span
from bastion.privacy.detect.validators import Validator

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_DIGIT = re.compile(r"\d")
_RAW_WORD = re.compile(r"[^\W_]+")


class Document:
    """The text being scanned plus cheap facts computed at most once per scan."""

    __slots__ = ("__dict__", "text")

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def has_digit(self) -> bool:
        """Most identifiers need a digit; text without one skips those recognizers."""
        return _DIGIT.search(self.text) is not None

    @cached_property
    def word_set(self) -> frozenset[str]:
        """Every lower-cased word of the text: lets label-driven recognizers skip cheaply."""
        return frozenset(_WORD.findall(self.lower))

    @cached_property
    def raw_words(self) -> frozenset[str]:
        """Every word of the text with its case kept: gates case-sensitive patterns."""
        return frozenset(_RAW_WORD.findall(self.text))

    @cached_property
    def lower(self) -> str:
        """Lower-cased copy used by context look-ups (same length as ``text`` for ASCII)."""
        lowered = self.text.lower()
        return lowered if len(lowered) == len(self.text) else self.text

    def words_before(self, start: int, window: int = 48) -> list[str]:
        """Whole lower-cased words in the ``window`` characters before ``start``."""
        return _WORD.findall(self.lower, max(0, start - window), start)

    def words_after(self, end: int, window: int = 24) -> list[str]:
        """Whole lower-cased words in the ``window`` characters after ``end``."""
        return _WORD.findall(self.lower, end, end + window)

    def context_hit(
        self, words: frozenset[str], start: int, end: int, before: int = 48, after: int = 24
    ) -> str | None:
        """The first context word found as a whole token near ``[start, end)``, else None.

        Matching whole tokens (never substrings) means "lic" does not fire inside "public".
        """
        if not words:
            return None
        for word in reversed(self.words_before(start, before)):
            if word in words:
                return word
        for word in self.words_after(end, after):
            if word in words:
                return word
        return None


@runtime_checkable
class Recognizer(Protocol):
    """Anything that finds spans of some entity types in a document."""

    name: str
    entities: frozenset[str]

    def find(self, doc: Document) -> Iterable[Span]:
        """Yield candidate spans (may overlap; the engine resolves)."""
        ...


@dataclass(frozen=True, slots=True)
class Pattern:
    """One regex with the base score of a bare match."""

    regex: re.Pattern[str]
    score: float
    label: str = ""
    group: int | str = 0
    needs_context: bool = False
    gate: frozenset[str] = frozenset()
    probe: re.Pattern[str] | None = None


@dataclass
class PatternRecognizer:
    """Regex hits, optionally validated, boosted by context words on token boundaries.

    ``needs_context`` patterns (weak shapes such as a bare 9-digit number) only report
    when a context word is near; otherwise they would drown users in false positives.
    A ``reject_context`` word just before a hit drops it ("version 2.3.4.5").
    """

    name: str
    entity: str
    patterns: list[Pattern]
    validator: Validator | None = None
    validated_score: float = 0.95
    context: frozenset[str] = frozenset()
    context_boost: float = 0.35
    needs_context: bool = False
    needs_digit: bool = True
    trigger: str | None = None
    retype: Callable[[Document, int, int, str], str] | None = None
    also: frozenset[str] = frozenset()
    reject_context: frozenset[str] = frozenset()
    entities: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.entities = frozenset({self.entity}) | self.also

    def find(self, doc: Document) -> Iterator[Span]:
        if self.needs_digit and not doc.has_digit:
            return
        if self.trigger is not None and self.trigger not in doc.text:
            return
        context_present: bool | None = None
        for pattern in self.patterns:
            if pattern.gate and doc.word_set.isdisjoint(pattern.gate):
                continue
            if pattern.probe is not None and pattern.probe.search(doc.text) is None:
                continue
            if pattern.needs_context or self.needs_context:
                if context_present is None:
                    context_present = not doc.word_set.isdisjoint(self.context)
                if not context_present:
                    continue
            for match in pattern.regex.finditer(doc.text):
                start, end = match.span(pattern.group)
                if start == end:
                    continue
                span = self.score_match(doc, start, end, pattern)
                if span is not None:
                    yield span

    def score_match(self, doc: Document, start: int, end: int, pattern: Pattern) -> Span | None:
        """Validate and context-score one regex hit."""
        value = doc.text[start:end]
        score = pattern.score
        reasons = [f"pattern {pattern.label or self.name}"]
        if self.validator is not None:
            verdict = self.validator(value)
            if verdict is False:
                return None
            if verdict is True:
                score = max(score, self.validated_score)
                reasons.append(f"checksum/structure valid ({self.validator.__name__})")
        if self.reject_context and doc.context_hit(self.reject_context, start, end, 16, 0):
            return None  # e.g. "version 2.3.4.5" is not an IP address
        weak = self.needs_context or pattern.needs_context
        word = doc.context_hit(self.context, start, end, 28 if weak else 48, 0 if weak else 24)
        if word is not None:
            score = min(1.0, score + self.context_boost)
            reasons.append(f"context word '{word}'")
        elif weak:
            return None
        entity = self.entity if self.retype is None else self.retype(doc, start, end, self.entity)
        return Span(start, end, entity, round(score, 3), self.name, "; ".join(reasons))

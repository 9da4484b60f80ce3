"""The recognizer contract and the regex-based recognizer most detectors are built from."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Set
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, overload, runtime_checkable

from bastion.privacy.detect.anchored import AnchoredScan
from bastion.privacy.detect.span import Span
from bastion.privacy.detect.validators import Validator

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_DIGIT = re.compile(r"\d")
_RAW_WORD = re.compile(r"[^\W_]+")
#: What may stand between two values of one list: spaces, a newline, ",", ";", "/", "|",
#: "&", "and"/"or" (with an optional comma before them).
LIST_GAP = re.compile(
    r"(?:,?[ \t]+(?:and|or|und|et|y|e)[ \t]+|[ \t]*[,;/|&][ \t]*\n?|[ \t]*\n)?[ \t]*",
    re.IGNORECASE,
)
_SPLIT_AT = re.compile(r"\S+")
_SHAPE = re.compile(r"\d|[^\W\d_]")
#: The longest run (in whitespace-separated groups) a split piece may span.
_MAX_GROUPS = 10


def value_shape(value: str) -> str:
    """Each digit becomes 9, each letter A, other characters stay: "MR-0012" -> "AA-9999".

    Values of one list share their layout; "1248-6515-9831" and a date "2025-10-29" on
    the next line do not.
    """
    return _SHAPE.sub(lambda m: "9" if m.group()[0].isdigit() else "A", value)


def split_run(
    text: str, start: int, end: int, score: Callable[[int, int], float]
) -> list[tuple[int, int, float]]:
    """Best cut of ``text[start:end]`` at whitespace into pieces that ``score`` accepts.

    Two values written side by side ("555-201-3344 555-201-3345") make one candidate run
    that is no valid value as a whole; here each piece is scored on its own. The cut
    maximises the score-weighted characters covered (a strong whole beats weak halves,
    two strong halves beat a weak whole), then prefers fewer pieces. ``score`` returns
    0 for a rejected piece.
    """
    groups = [(m.start() + start, m.end() + start) for m in _SPLIT_AT.finditer(text[start:end])]
    n = len(groups)
    best: list[tuple[float, int, list[tuple[int, int, float]]]] = [(0.0, 0, [])] * (n + 1)
    for i in range(1, n + 1):
        best[i] = best[i - 1]  # group i-1 left uncovered
        for j in range(max(0, i - _MAX_GROUPS), i):
            a, b = groups[j][0], groups[i - 1][1]
            value = score(a, b)
            if value <= 0.0:
                continue
            total, pieces, cut = best[j]
            candidate = (total + value * (b - a), pieces - 1, [*cut, (a, b, value)])
            if candidate[:2] > best[i][:2]:
                best[i] = candidate
    return best[n][2]


_T = TypeVar("_T")


class memo(Generic[_T]):  # noqa: N801 - used like ``functools.cached_property``
    """``functools.cached_property`` without its per-access lock (Python 3.11 takes an
    RLock on every first access: measurable when ~10 facts are computed per text)."""

    def __init__(self, compute: Callable[[Any], _T]) -> None:
        self._compute = compute
        self._name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> memo[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> memo[_T] | _T:
        if instance is None:
            return self
        value = self._compute(instance)
        instance.__dict__[self._name] = value  # later reads skip the descriptor
        return value


class Document:
    """The text being scanned plus cheap facts computed at most once per scan."""

    __slots__ = ("__dict__", "possible", "text")

    def __init__(self, text: str, possible: Set[int] | None = None) -> None:
        self.text = text
        #: ``id()`` of every regex that may match (from the prefilter); None: unknown.
        self.possible = possible

    def may_match(self, regex: re.Pattern[str]) -> bool:
        """False only when the prefilter proved ``regex`` has no match in the text."""
        return self.possible is None or id(regex) in self.possible

    @memo
    def has_digit(self) -> bool:
        """Most identifiers need a digit; text without one skips those recognizers."""
        return _DIGIT.search(self.text) is not None

    @memo
    def word_set(self) -> frozenset[str]:
        """Every lower-cased word of the text: lets label-driven recognizers skip cheaply."""
        return frozenset(_WORD.findall(self.lower))

    @memo
    def raw_words(self) -> frozenset[str]:
        """Every word of the text with its case kept: gates case-sensitive patterns."""
        return frozenset(_RAW_WORD.findall(self.text))

    @memo
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

    def first_word_after(self, end: int, window: int = 24) -> list[str]:
        """``words_after(end, window)[:1]`` without collecting the rest."""
        match = _WORD.search(self.lower, end, end + window)
        return [match.group()] if match is not None else []

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


def _has_space(text: str, start: int, end: int) -> bool:
    return any(ch.isspace() for ch in text[start:end])


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
    #: For a labelled pattern ("MRN: <v>"), the value alone: further values of the same
    #: shape listed after the first ("MRN 1234567, 2345678") are reported too.
    continuation: re.Pattern[str] | None = None
    #: Finds the same matches as ``regex.finditer`` from a rare character (see ``anchored``).
    anchored: AnchoredScan | None = None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Every match of ``regex`` in ``text``, as ``regex.finditer`` gives them."""
        if self.anchored is not None:
            return self.anchored.finditer(text)
        return self.regex.finditer(text)


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

    def prefilter_regexes(self) -> list[re.Pattern[str]]:
        """The regexes ``find`` scans whole texts with (see ``prefilter``).

        Contract shared by every recognizer that defines this method: ``find`` yields
        nothing when none of these regexes matches the text, so the engine may skip it.
        """
        return [p.regex for p in self.patterns]

    def find(self, doc: Document) -> Iterator[Span]:
        if self.needs_digit and not doc.has_digit:
            return
        if self.trigger is not None and self.trigger not in doc.text:
            return
        possible = doc.possible
        context_present: bool | None = None
        for pattern in self.patterns:
            if possible is not None:
                if id(pattern.regex) not in possible:
                    continue  # proved to have no match: gates and probe are moot
            elif pattern.probe is not None and pattern.probe.search(doc.text) is None:
                continue
            if pattern.gate and doc.word_set.isdisjoint(pattern.gate):
                continue
            if pattern.needs_context or self.needs_context:
                if context_present is None:
                    context_present = not doc.word_set.isdisjoint(self.context)
                if not context_present:
                    continue
            listable = pattern.continuation is not None or pattern.needs_context
            listable = listable or self.needs_context
            for match in pattern.finditer(doc.text):
                start, end = match.span(pattern.group)
                if start == end:
                    continue
                span = self.score_match(doc, start, end, pattern)
                if span is not None:
                    yield span
                    if listable:
                        yield from self._listed_after(doc, span, pattern)
                elif self.validator is not None and _has_space(doc.text, start, end):
                    yield from self._split(doc, start, end, pattern)

    def _split(self, doc: Document, start: int, end: int, pattern: Pattern) -> Iterator[Span]:
        """Values written side by side that merged into one invalid run, checked one by one."""
        validator = self.validator
        assert validator is not None
        found: dict[tuple[int, int], Span] = {}

        def score(a: int, b: int) -> float:
            if validator(doc.text[a:b]) is not True:
                return 0.0
            span = self.score_match(doc, a, b, pattern)
            if span is None:
                return 0.0
            found[a, b] = span
            return span.score

        for a, b, _ in split_run(doc.text, start, end, score):
            yield found[a, b]

    def _listed_after(self, doc: Document, first: Span, pattern: Pattern) -> Iterator[Span]:
        """Values listed right after an accepted one ("MRN 1234567, 2345678 and 3456789").

        A label or context word only sits next to the first value of a list; the others
        inherit its evidence when only list separators stand between them and they have
        the first value's shape (or fit one of the recognizer's own weak patterns).
        """
        text = doc.text
        shape = value_shape(text[first.start : first.end])
        candidates: list[tuple[re.Pattern[str], int | str, bool]] = []
        if pattern.continuation is not None:
            candidates.append((pattern.continuation, "v", True))
        for weak in self.patterns:
            if weak.needs_context or self.needs_context:
                candidates.append((weak.regex, weak.group, False))
        previous = first
        while True:
            gap = LIST_GAP.match(text, previous.end)
            if gap is None or gap.end() == previous.end or gap.end() >= len(text):
                return
            nxt: Span | None = None
            for regex, group, same_shape in candidates:
                match = regex.match(text, gap.end())
                if match is None:
                    continue
                start, end = match.span(group)
                if start != gap.end() or end == start:
                    continue
                if same_shape and value_shape(text[start:end]) != shape:
                    continue
                nxt = self.score_match(doc, start, end, pattern, listed=previous)
                if nxt is not None:
                    break
            if nxt is None:
                return
            yield nxt
            previous = nxt

    def score_match(
        self, doc: Document, start: int, end: int, pattern: Pattern, listed: Span | None = None
    ) -> Span | None:
        """Validate and context-score one regex hit (``listed``: the list value before it)."""
        score = pattern.score
        why = f"pattern {pattern.label or self.name}"
        validator = self.validator
        if validator is not None:
            verdict = validator(doc.text[start:end])
            if verdict is False:
                return None
            if verdict is True:
                score = max(score, self.validated_score)
                why += f"; checksum/structure valid ({validator.__name__})"
        if self.reject_context and doc.context_hit(self.reject_context, start, end, 16, 0):
            return None  # e.g. "version 2.3.4.5" is not an IP address
        weak = self.needs_context or pattern.needs_context
        word = doc.context_hit(self.context, start, end, 28 if weak else 48, 0 if weak else 24)
        if word is not None:
            score = min(1.0, score + self.context_boost)
            why += f"; context word '{word}'"
        elif listed is not None:
            score = max(score, listed.score)
            why += "; listed right after another value of this type"
        elif weak:
            return None
        entity = self.entity if self.retype is None else self.retype(doc, start, end, self.entity)
        return Span(start, end, entity, round(score, 3), self.name, why)

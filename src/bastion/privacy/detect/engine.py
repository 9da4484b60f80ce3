"""The engine: run recognizers, score, filter, and resolve overlaps into a clean cover."""

from __future__ import annotations

import bisect
import itertools
import re
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

from bastion.core.errors import ValidationError
from bastion.privacy.detect.prefilter import Prefilter
from bastion.privacy.detect.recognizer import Document, Recognizer
from bastion.privacy.detect.span import Span

#: Texts longer than this are analysed in whitespace-aligned chunks to bound memory.
DEFAULT_CHUNK = 1_000_000


@dataclass(frozen=True)
class EngineConfig:
    """How an engine filters and which extra recognizers it loads.

    ``thresholds`` overrides ``default_threshold`` per entity type; ``allow_list`` values
    are never reported (case-insensitive, whole value); ``deny_list`` terms are always
    reported as the given entity type; ``custom_recognizers`` are YAML files;
    ``backends`` are optional NER models from local paths, e.g. ``"spacy:/models/en"``
    or ``"transformers:/models/ner"``. ``prefilter`` uses the hyperscan accelerator when
    installed (same output, fewer regex scans); False forces the pure-Python path.
    """

    default_threshold: float = 0.5
    thresholds: Mapping[str, float] = field(default_factory=dict)
    allow_list: Collection[str] = ()
    deny_list: Mapping[str, Collection[str]] = field(default_factory=dict)
    custom_recognizers: Sequence[Path | str] = ()
    backends: Sequence[str] = ()
    chunk_size: int = DEFAULT_CHUNK
    prefilter: bool = True


class _Step(NamedTuple):
    recognizer: Recognizer
    entities: frozenset[str]
    #: ``id()`` of the regexes whose matches are the recognizer's only source of spans.
    regex_ids: frozenset[int] | None


class _Prepared(NamedTuple):
    prefilter: Prefilter
    steps: tuple[_Step, ...]
    supported: frozenset[str]
    #: regex id -> indices of the steps whose recognizer scans with it
    owners: dict[int, tuple[int, ...]]
    #: steps whose recognizer lists no regexes: always run
    unlisted: tuple[int, ...]


class Engine:
    """A registry of recognizers plus the scoring and overlap policy applied to their output."""

    def __init__(
        self, recognizers: Iterable[Recognizer], config: EngineConfig | None = None
    ) -> None:
        self.config = config or EngineConfig()
        self._recognizers: list[Recognizer] = list(recognizers)
        self._extra_entities: set[str] = set()
        for entity in self.config.deny_list:
            self._extra_entities.add(entity)
        self._ready: _Prepared | None = None
        self._prefilter_lock = threading.Lock()
        self._allow = frozenset(v.strip().lower() for v in self.config.allow_list if v.strip())
        self._deny = _compile_deny(self.config.deny_list)
        for name, value in self.config.thresholds.items():
            if not 0.0 <= value <= 1.0:
                raise ValidationError(
                    f"threshold {value} outside [0, 1]", field=f"thresholds.{name}"
                )

    # -- registry ---------------------------------------------------------------------

    def register(self, recognizer: Recognizer) -> None:
        """Add a recognizer (custom, YAML-defined or an NER backend)."""
        self._recognizers.append(recognizer)
        self._ready = None

    def prefilter(self) -> Prefilter:
        """The shared multi-regex prefilter over every recognizer's scans (built once)."""
        return self._prepared().prefilter

    def _prepared(self) -> _Prepared:
        """Prefilter, per-recognizer steps and supported entities, built on first use.

        A recognizer that lists its ``prefilter_regexes`` promises to find nothing when
        none of them matches, so a text where the prefilter proved that skips it whole.
        """
        prepared = self._ready
        if prepared is None:
            with self._prefilter_lock:
                prepared = self._ready
                if prepared is None:
                    regexes: list[re.Pattern[str]] = []
                    steps = []
                    for recognizer in self._recognizers:
                        source = getattr(recognizer, "prefilter_regexes", None)
                        own = list(source()) if source is not None else None
                        if own is not None:
                            regexes.extend(own)
                        ids = frozenset(id(r) for r in own) if own is not None else None
                        steps.append(_Step(recognizer, recognizer.entities, ids))
                    prefilter = Prefilter(regexes if self.config.prefilter else ())
                    supported: set[str] = set(self._extra_entities)
                    for recognizer in self._recognizers:
                        supported |= recognizer.entities
                    owners: dict[int, list[int]] = {}
                    for index, step in enumerate(steps):
                        for regex_id in step.regex_ids or ():
                            owners.setdefault(regex_id, []).append(index)
                    prepared = self._ready = _Prepared(
                        prefilter,
                        tuple(steps),
                        frozenset(supported),
                        {k: tuple(v) for k, v in owners.items()},
                        tuple(i for i, step in enumerate(steps) if step.regex_ids is None),
                    )
        return prepared

    @property
    def recognizers(self) -> tuple[Recognizer, ...]:
        return tuple(self._recognizers)

    @property
    def supported_entities(self) -> frozenset[str]:
        """Every entity type some registered recognizer can report."""
        ready = self._ready
        if ready is not None:
            return ready.supported
        found: set[str] = set(self._extra_entities)
        for recognizer in self._recognizers:
            found |= recognizer.entities
        return frozenset(found)

    def threshold(self, entity: str) -> float:
        return self.config.thresholds.get(entity, self.config.default_threshold)

    # -- analysis ---------------------------------------------------------------------

    def analyze(self, text: str, entities: Collection[str] | None = None) -> list[Span]:
        """Spans sorted by start, non-overlapping, covering every detected character once."""
        self._prepared()
        wanted = self._wanted(entities)
        if not text:
            return []
        size = max(1000, self.config.chunk_size)
        if len(text) <= size:
            return self._analyze_chunk(text, wanted)
        spans: list[Span] = []
        for offset, chunk in _chunks(text, size):
            for s in self._analyze_chunk(chunk, wanted):
                spans.append(
                    Span(
                        s.start + offset,
                        s.end + offset,
                        s.entity_type,
                        s.score,
                        s.recognizer,
                        s.explanation,
                    )
                )
        return spans

    def _wanted(self, entities: Collection[str] | None) -> frozenset[str]:
        supported = self.supported_entities
        if entities is None:
            return supported
        wanted = frozenset(entities)
        unknown = sorted(wanted - supported)
        if unknown:
            raise ValidationError(
                f"unknown entity type(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(supported))}",
                field="entities",
            )
        return wanted

    def _analyze_chunk(self, text: str, wanted: frozenset[str]) -> list[Span]:
        prepared = self._prepared()
        steps = prepared.steps
        possible = prepared.prefilter.possible(text)
        doc = Document(text, possible)
        candidates: list[Span] = []
        thresholds = self.config.thresholds
        default = self.config.default_threshold
        if possible is not None:
            # Only recognizers owning a regex that may match, plus those without a list.
            owners = prepared.owners
            chosen = set(prepared.unlisted)
            for regex_id in possible:
                chosen.update(owners.get(regex_id, ()))
            steps = tuple(steps[k] for k in sorted(chosen))
        for recognizer, entities, _ in steps:
            if entities.isdisjoint(wanted):
                continue
            for span in recognizer.find(doc):
                entity = span.entity_type
                if entity in wanted and span.score >= thresholds.get(entity, default):
                    candidates.append(span)
        if self._deny is not None:
            candidates.extend(s for s in _deny_spans(text, self._deny) if s.entity_type in wanted)
        if self._allow:
            candidates = [
                s
                for s in candidates
                if text[s.start : s.end].strip().lower() not in self._allow
                or s.recognizer == "deny_list"
            ]
        return resolve(candidates, text)


def resolve(candidates: Iterable[Span], text: str | None = None) -> list[Span]:
    """Pick a non-overlapping cover: stronger (then longer) spans win whole.

    A weaker span that overlaps a stronger one is not dropped: the characters the
    winners leave uncovered stay detected as trimmed pieces, so no part of any detected
    value escapes (the failure behind Presidio's half-anonymised values). With ``text``,
    pieces lose leading/trailing spaces and punctuation, and pieces without a letter or
    digit are dropped (nothing identifying is left in them).
    """
    by_start = sorted(candidates, key=_start)
    if all(a.end <= b.start for a, b in itertools.pairwise(by_start)):
        return by_start  # nothing overlaps (the usual case): every span is chosen whole
    ordered = sorted(
        by_start,
        key=lambda s: (-(s.score + min(s.length, 80) / 200), -s.length, s.start, s.entity_type),
    )
    starts: list[int] = []
    ends: list[int] = []
    chosen: list[Span] = []
    for span in ordered:
        for start, end in _uncovered(starts, ends, span.start, span.end):
            piece = span
            if (start, end) != (span.start, span.end):
                if text is not None:
                    while start < end and not text[start].isalnum():
                        start += 1
                    while end > start and not text[end - 1].isalnum():
                        end -= 1
                    if start >= end:
                        continue
                piece = Span(
                    start,
                    end,
                    span.entity_type,
                    span.score,
                    span.recognizer,
                    (span.explanation + "; trimmed by an overlapping stronger span").strip("; "),
                )
            index = bisect.bisect_left(starts, start)
            starts.insert(index, start)
            ends.insert(index, end)
            chosen.insert(index, piece)
    return chosen


def _start(span: Span) -> int:
    return span.start


def _uncovered(starts: list[int], ends: list[int], start: int, end: int) -> list[tuple[int, int]]:
    """Sub-ranges of ``[start, end)`` not covered by the sorted disjoint intervals."""
    index = bisect.bisect_right(starts, start) - 1
    if index < 0:
        index = 0
    pieces: list[tuple[int, int]] = []
    cursor = start
    while index < len(starts) and starts[index] < end:
        if ends[index] > cursor:
            if starts[index] > cursor:
                pieces.append((cursor, starts[index]))
            cursor = max(cursor, ends[index])
        index += 1
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def _compile_deny(deny: Mapping[str, Collection[str]]) -> re.Pattern[str] | None:
    alternatives = []
    for index, (entity, terms) in enumerate(sorted(deny.items())):
        words = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", entity):
            raise ValidationError(
                f"entity name {entity!r} must be UPPER_SNAKE_CASE", field="deny_list"
            )
        if words:
            body = "|".join(re.escape(w) for w in words)
            alternatives.append(f"(?P<e{index}_{entity}>(?<!\\w)(?:{body})(?!\\w))")
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


def _deny_spans(text: str, regex: re.Pattern[str]) -> Iterable[Span]:
    for match in regex.finditer(text):
        group = match.lastgroup or ""
        entity = group.split("_", 1)[1]
        yield Span(match.start(), match.end(), entity, 1.0, "deny_list", "term on the deny list")


def _chunks(text: str, size: int) -> Iterable[tuple[int, str]]:
    """Whitespace-aligned pieces of at most ``size`` characters (hard cut if none)."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind("\n", start + size // 2, end)
            if cut < 0:
                cut = max(
                    text.rfind(" ", start + size // 2, end),
                    text.rfind("\t", start + size // 2, end),
                )
            if cut > start:
                end = cut + 1
        yield start, text[start:end]
        start = end


def builtin_recognizers() -> list[Recognizer]:
    """The offline default registry: regex/checksum families and the word-list family."""
    from bastion.privacy.detect.recognizers.patterns import builtin_pattern_recognizers
    from bastion.privacy.detect.recognizers.words import (
        AddressRecognizer,
        OrganizationRecognizer,
        WordRecognizer,
    )

    return [
        *builtin_pattern_recognizers(),
        AddressRecognizer(),
        OrganizationRecognizer(),
        WordRecognizer(),
    ]


def build_engine(config: EngineConfig | None = None) -> Engine:
    """An engine with the built-in registry plus whatever ``config`` adds."""
    from bastion.privacy.detect.backends import load_backend
    from bastion.privacy.detect.custom import load_custom_recognizers

    config = config or EngineConfig()
    engine = Engine(builtin_recognizers(), config)
    for path in config.custom_recognizers:
        for recognizer in load_custom_recognizers(Path(path)):
            engine.register(recognizer)
    for spec in config.backends:
        engine.register(load_backend(spec))
    return engine


@cache
def default_engine() -> Engine:
    """The shared offline engine, built once with its prefilter (about a second with
    hyperscan: paid when the engine is first asked for, not on the first text)."""
    engine = build_engine(EngineConfig())
    engine.prefilter()
    return engine

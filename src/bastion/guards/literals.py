"""Which of many short literals occur in a text, without one substring search per literal.

Guards gate their (expensive) regular expressions on cheap trigger words: a
pattern runs only when one of its lowercase trigger substrings occurs in the
lowercased text.  Testing a hundred triggers one by one costs a full pass over
the text each.  Here a text's byte trigrams are hashed once into a bit table
(shared by every guard that looks at the same text); a literal can only occur
if all its trigrams are in the table, and only those candidates get the exact
substring test.  The result is the same set as ``[t for t in literals if t in
lowered]``, never an approximation.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from bastion.privacy.detect.prefilter import Prefilter

_BITS = 16
_SIZE = 1 << _BITS
_PAD = _SIZE  # index of an always-set slot that pads short literal rows
_MULTIPLIER = np.uint32(0x9E3779B1)
_SHIFT = np.uint32(32 - _BITS)
_SIXTEEN, _EIGHT = np.uint32(16), np.uint32(8)
# Below this many characters testing every literal directly is cheaper than hashing.
_DIRECT_BELOW = 512
# A few literals are tested directly unless the text's table already exists.
_DIRECT_LITERALS = 12
_CACHE_SIZE = 4

IntArray = npt.NDArray[np.intp]


def _trigram_hashes(data: bytes) -> npt.NDArray[np.uint32]:
    codes = np.frombuffer(data, dtype=np.uint8).astype(np.uint32)
    grams = (codes[:-2] << _SIXTEEN) | (codes[1:-1] << _EIGHT) | codes[2:]
    hashed: npt.NDArray[np.uint32] = (grams * _MULTIPLIER) >> _SHIFT  # wraps: multiplicative hash
    return hashed


class TextView:
    """A text with its lowercase form and (built on first use) its trigram table."""

    __slots__ = ("_table", "lowered", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lowered = text.lower()
        self._table: npt.NDArray[np.bool_] | None = None

    @property
    def has_table(self) -> bool:
        """True once the trigram table has been built (by any guard)."""
        return self._table is not None

    @property
    def table(self) -> npt.NDArray[np.bool_]:
        """Bit table of the hashed byte trigrams of ``lowered`` (plus the padding slot)."""
        if self._table is None:
            table = np.zeros(_SIZE + 1, dtype=np.bool_)
            table[_PAD] = True
            data = self.lowered.encode("utf-8", "surrogatepass")
            if len(data) >= 3:
                table[_trigram_hashes(data)] = True
            self._table = table
        return self._table


_local = threading.local()


def view(text: str) -> TextView:
    """The view of ``text``, shared by the guards of a chain that see the same text.

    A few recent texts are kept per thread, so a chain's guards compute the
    lowercase form and the trigram table once per text instead of once each.
    """
    cache: dict[str, TextView] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    found = cache.get(text)
    if found is None:
        if len(cache) >= _CACHE_SIZE:
            del cache[next(iter(cache))]
        found = cache[text] = TextView(text)
    return found


def clear_views() -> None:
    """Forget this thread's cached views (benchmarks use it so every call starts cold)."""
    cache: dict[str, TextView] | None = getattr(_local, "cache", None)
    if cache is not None:
        cache.clear()


class LiteralSet:
    """A fixed set of lowercase literals, with a fast "which of them occur" test."""

    def __init__(self, literals: Iterable[str]) -> None:
        self.literals: tuple[str, ...] = tuple(dict.fromkeys(literals))
        if any(lit != lit.lower() or not lit for lit in self.literals):
            raise ValueError("literals must be non-empty and lowercase")
        rows = [_trigram_hashes(lit.encode("utf-8", "surrogatepass")) for lit in self.literals]
        width = max((len(r) for r in rows), default=0) or 1
        matrix = np.full((len(rows), width), _PAD, dtype=np.intp)
        for i, row in enumerate(rows):
            matrix[i, : len(row)] = row
        self._matrix: IntArray = matrix

    def present(self, text_view: TextView) -> set[str]:
        """Every literal that is a substring of the view's lowercase text (exactly)."""
        lowered = text_view.lowered
        if len(lowered) < _DIRECT_BELOW or (
            len(self.literals) <= _DIRECT_LITERALS and not text_view.has_table
        ):
            return {lit for lit in self.literals if lit in lowered}
        candidates = np.flatnonzero(text_view.table[self._matrix].all(axis=1)).tolist()
        literals = self.literals
        return {literals[i] for i in candidates if literals[i] in lowered}


Label = TypeVar("Label")


class GatedPatterns(Generic[Label]):
    """Labelled regexes, each run only when one of its trigger words occurs in the
    text and the multi-pattern prefilter says it can match.

    ``candidates`` returns every pattern that may match (every one that does is
    among them), in the order given; the guards only run those.
    """

    def __init__(self, entries: Iterable[tuple[Label, Iterable[str], re.Pattern[str]]]) -> None:
        self.entries: tuple[tuple[Label, frozenset[str], re.Pattern[str]], ...] = tuple(
            (label, frozenset(triggers), pattern) for label, triggers, pattern in entries
        )
        self.triggers = LiteralSet(t for _, triggers, _ in self.entries for t in triggers)
        self._prefilter: Prefilter | None = None
        self._lock = threading.Lock()

    def prefilter(self) -> Prefilter:
        """One multi-pattern scan telling which patterns cannot match (built once)."""
        if self._prefilter is None:
            with self._lock:
                if self._prefilter is None:
                    self._prefilter = Prefilter(pattern for _, _, pattern in self.entries)
        return self._prefilter

    def candidates(self, text: str) -> list[tuple[Label, re.Pattern[str]]]:
        """The labelled patterns that may match ``text``."""
        possible = self.prefilter().possible(text)  # None: no accelerator, all may match
        if possible is not None and not possible:
            return []
        present = self.triggers.present(view(text))
        if not present:
            return []
        return [
            (label, pattern)
            for label, triggers, pattern in self.entries
            if not triggers.isdisjoint(present) and (possible is None or id(pattern) in possible)
        ]

"""A fast scorer for the bundled alt-profanity-check model.

``profanity_check.predict_prob`` spends milliseconds per call in scikit-learn's
generic machinery (five calibrated linear SVMs).  This module copies the fitted
vocabulary, IDF weights, SVM coefficients and sigmoid calibrators once and
computes the same probability directly (parity is checked in the tests).  The
model files are the ones installed with the package; they are not loaded from
any user-supplied location.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
# ASCII word characters kept (upper case already lowered), everything else a separator.
_ASCII_WORD_BYTES = bytes(
    b if chr(b).isascii() and re.fullmatch(r"\w", chr(b)) else 0x20 for b in range(256)
)


@dataclass(frozen=True, slots=True)
class ProfanityScore:
    """Probability that the text is offensive, plus the spans of strongly offensive words."""

    probability: float
    offensive_spans: tuple[tuple[int, int], ...]


class ProfanityModel:
    """Same output as ``profanity_check.predict_prob`` for one text, in microseconds."""

    def __init__(self, word_threshold: float = 3.5) -> None:
        from profanity_check import profanity_check as pc  # loads the installed model once

        vectorizer, model = pc.vectorizer, pc.model
        self._vocabulary: dict[str, int] = {
            str(k): int(v) for k, v in vectorizer.vocabulary_.items()
        }
        self._idf: npt.NDArray[np.float64] = np.asarray(vectorizer.idf_, dtype=np.float64)
        calibrated = model.calibrated_classifiers_
        self._coef = np.array([c.estimator.coef_[0] for c in calibrated], dtype=np.float64)
        self._intercept = np.array(
            [c.estimator.intercept_[0] for c in calibrated], dtype=np.float64
        )
        self._a = np.array([c.calibrators[0].a_ for c in calibrated], dtype=np.float64)
        self._b = np.array([c.calibrators[0].b_ for c in calibrated], dtype=np.float64)
        mean_coef = self._coef.mean(axis=0)
        self._offensive = frozenset(
            word for word, index in self._vocabulary.items() if mean_coef[index] >= word_threshold
        )
        # The same vocabulary keyed by bytes, for ASCII texts tokenised as bytes.
        self._ascii: dict[Any, int] = {
            k.encode("ascii"): v for k, v in self._vocabulary.items() if k.isascii()
        }
        ascii_offensive = {w.encode() for w in self._offensive if w.isascii()}
        self._offensive_keys = self._offensive | ascii_offensive

    def _tokens(self, lowered: str) -> tuple[list[Any], dict[Any, int]]:
        """The vectoriser's tokens and the vocabulary to look them up in.

        ``\\b\\w\\w+\\b`` matches exactly the maximal runs of two or more word
        characters.  For ASCII text (word characters ``[a-z0-9_]``) those are
        found by one ``bytes.translate`` and ``split`` in C, single characters
        included: they are never in the vocabulary, so they change nothing.
        """
        if lowered.isascii():
            return lowered.encode("ascii").translate(_ASCII_WORD_BYTES).split(), self._ascii
        return _TOKEN.findall(lowered), self._vocabulary

    def score(self, text: str) -> ProfanityScore:
        """Probability of offensive language and the spans of strongly offensive words."""
        lowered = text.lower()
        tokens, vocabulary = self._tokens(lowered)
        spans: list[tuple[int, int]] = []
        if not self._offensive_keys.isdisjoint(tokens):  # rare: only then are positions needed
            offensive = self._offensive
            spans = [m.span() for m in _TOKEN.finditer(lowered) if m.group(0) in offensive]
        # Vocabulary look-ups in C (map over dict.get); -1 marks out-of-vocabulary tokens.
        found = np.fromiter(
            map(vocabulary.get, tokens, repeat(-1, len(tokens))), dtype=np.intp, count=len(tokens)
        )
        indices = np.sort(found[found >= 0])
        size = len(indices)
        if size:
            # Distinct indices in ascending order with their counts (what bincount + nonzero give).
            edges = np.empty(size + 1, dtype=np.bool_)
            edges[0] = edges[size] = True
            np.not_equal(indices[1:], indices[:-1], out=edges[1:size])
            bounds = edges.nonzero()[0]
            keys = indices[bounds[:-1]]
            counts = bounds[1:] - bounds[:-1]
            weights = counts.astype(np.float64) * self._idf[keys]
            norm = math.sqrt(float(weights @ weights))
            decision = self._coef[:, keys] @ (weights / norm) + self._intercept
        else:
            decision = self._intercept.copy()
        calibrated = 1.0 / (1.0 + np.exp(self._a * decision + self._b))
        # The same sum and division np.mean performs, without its Python-level wrapper.
        return ProfanityScore(float(calibrated.sum() / len(calibrated)), tuple(spans))


@lru_cache(maxsize=1)
def profanity_model() -> ProfanityModel:
    """The shared model, built on first use."""
    return ProfanityModel()

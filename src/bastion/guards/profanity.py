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

import numpy as np
import numpy.typing as npt

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


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

    def score(self, text: str) -> ProfanityScore:
        """Probability of offensive language and the spans of strongly offensive words."""
        lowered = text.lower()
        indices: list[int] = []
        spans: list[tuple[int, int]] = []
        lookup = self._vocabulary.get
        offensive = self._offensive
        for match in _TOKEN.finditer(lowered):
            token = match.group(0)
            index = lookup(token)
            if index is not None:
                indices.append(index)
                if token in offensive:
                    spans.append(match.span())
        if indices:
            counts = np.bincount(np.asarray(indices, dtype=np.intp))
            keys = counts.nonzero()[0]
            weights = counts[keys].astype(np.float64) * self._idf[keys]
            norm = math.sqrt(float(weights @ weights))
            decision = self._coef[:, keys] @ (weights / norm) + self._intercept
        else:
            decision = self._intercept.copy()
        calibrated = 1.0 / (1.0 + np.exp(self._a * decision + self._b))
        return ProfanityScore(float(calibrated.mean()), tuple(spans))


@lru_cache(maxsize=1)
def profanity_model() -> ProfanityModel:
    """The shared model, built on first use."""
    return ProfanityModel()

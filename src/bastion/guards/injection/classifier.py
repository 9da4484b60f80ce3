"""The bundled prompt-injection classifier: word and character n-grams with a linear model.

The model is trained by ``scripts/train_injection_classifier.py`` and stored
with skops.  It is loaded only with an explicit list of trusted types, never
pickle.  Scoring does not go through scikit-learn's per-call machinery: the
fitted vocabularies, IDF weights and coefficients are copied into a small
scorer that computes the same decision function in a fraction of the time
(checked against the pipeline in the tests).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import chain, pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bastion.core.errors import IntegrityError

MODEL_FILE = "injection_classifier.skops"
METRICS_FILE = "injection_classifier.metrics.json"

# Exactly the types the bundled pipeline is made of; anything else refuses to load.
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "builtins.slice",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.pipeline.Pipeline",
)

_WORD = re.compile(r"(?u)\b\w\w+\b")
_WINDOW_WORDS = 200
_WINDOW_STEP = 200
_CACHE_LIMIT = 50_000

FloatArray = npt.NDArray[np.float64]


def data_path(name: str) -> Path:
    """Location of a bundled data file."""
    return Path(str(resources.files("bastion.guards") / "data" / name))


def load_pipeline(path: Path | None = None) -> Any:
    """Load the fitted scikit-learn pipeline through skops with the explicit trusted list."""
    import skops.io as sio

    target = path or data_path(MODEL_FILE)
    if not target.is_file():
        raise IntegrityError(
            f"{target}: injection classifier missing; run scripts/train_injection_classifier.py"
        )
    try:
        # skops refuses (UntrustedTypesFoundException) any type outside its safe defaults
        # and this explicit list; nothing is unpickled.
        return sio.load(target, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # skops raises UntrustedTypesFoundException, TypeError, ...
        raise IntegrityError(f"{target}: refusing to load classifier ({exc})") from exc


@dataclass(frozen=True, slots=True)
class _Block:
    """One TF-IDF vectoriser's vocabulary, IDF weights and its slice of the coefficients.

    ``idf_of`` and ``coef_of`` are the same weights as plain Python floats: a
    text has tens to a few hundred n-grams, and for so few NumPy's per-call
    overhead (bincount, nonzero, fancy indexing) cost more than the arithmetic.
    """

    vocabulary: dict[str, int]
    idf: FloatArray
    coef: FloatArray
    sublinear: bool
    idf_of: list[float]
    coef_of: list[float]

    def contribution(self, indices: list[int]) -> float:
        if not indices:
            return 0.0
        idf, coef = self.idf_of, self.coef_of
        squares = 0.0
        dot = 0.0
        for key, count in Counter(indices).items():
            tf = 1.0 + math.log(count) if self.sublinear else float(count)
            weight = tf * idf[key]
            squares += weight * weight
            dot += weight * coef[key]
        if squares == 0.0:
            return 0.0
        return dot / math.sqrt(squares)


class InjectionClassifier:
    """Probability that a text is a prompt injection, from the bundled linear model."""

    def __init__(self, pipeline: Any, threshold: float | None = None) -> None:
        union = pipeline.named_steps["features"]
        model = pipeline.named_steps["model"]
        coef = np.asarray(model.coef_[0], dtype=np.float64)
        blocks: dict[str, _Block] = {}
        offset = 0
        for name, vectorizer in union.transformer_list:
            size = len(vectorizer.vocabulary_)
            idf = np.asarray(vectorizer.idf_, dtype=np.float64)
            block_coef = coef[offset : offset + size]
            blocks[name] = _Block(
                {str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
                idf,
                block_coef,
                bool(vectorizer.sublinear_tf),
                idf.tolist(),
                block_coef.tolist(),
            )
            offset += size
        word_vec = dict(union.transformer_list)["word"]
        char_vec = dict(union.transformer_list)["char"]
        if word_vec.analyzer != "word" or char_vec.analyzer != "char_wb":
            raise IntegrityError("injection classifier has an unexpected feature layout")
        self._word = blocks["word"]
        self._char = blocks["char"]
        self._word_ngrams: tuple[int, int] = tuple(word_vec.ngram_range)
        self._char_ngrams: tuple[int, int] = tuple(char_vec.ngram_range)
        self._intercept = float(model.intercept_[0])
        self._cache: dict[str, tuple[list[int], list[int], list[str]]] = {}
        self.pipeline = pipeline
        self.threshold = threshold if threshold is not None else _default_threshold()

    # Features, mirroring scikit-learn's analyzers ------------------------------------
    def _word_features(self, word: str) -> tuple[list[int], list[int], list[str]]:
        """Char n-gram indices, word-unigram indices and regex tokens of one lowercased word."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        chars = self._char.vocabulary
        padded = f" {word} "
        length = len(padded)
        low, high = self._char_ngrams
        char_found: list[int] = []
        for n in range(low, high + 1):
            if n >= length:
                # scikit-learn emits the whole padded word once and stops for short words.
                index = chars.get(padded)
                if index is not None:
                    char_found.append(index)
                break
            for start in range(length - n + 1):
                index = chars.get(padded[start : start + n])
                if index is not None:
                    char_found.append(index)
        tokens = _WORD.findall(word)
        words = self._word.vocabulary
        unigrams = [i for t in tokens if (i := words.get(t)) is not None]
        entry = (char_found, unigrams, tokens)
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[word] = entry
        return entry

    def _decision_of(self, entries: list[tuple[list[int], list[int], list[str]]]) -> float:
        char_indices = list(chain.from_iterable(e[0] for e in entries))
        word_indices = list(chain.from_iterable(e[1] for e in entries))
        tokens = list(chain.from_iterable(e[2] for e in entries))
        lookup = self._word.vocabulary.get
        if self._word_ngrams == (1, 2):
            word_indices.extend(
                i for a, b in pairwise(tokens) if (i := lookup(a + " " + b)) is not None
            )
        else:
            low, high = self._word_ngrams
            for n in range(max(2, low), high + 1):
                for start in range(len(tokens) - n + 1):
                    index = lookup(" ".join(tokens[start : start + n]))
                    if index is not None:
                        word_indices.append(index)
        return (
            self._intercept
            + self._word.contribution(word_indices)
            + self._char.contribution(char_indices)
        )

    def decision(self, text: str) -> float:
        """The linear decision value of the whole text (same as the pipeline's)."""
        return self._decision_of([self._word_features(w) for w in text.lower().split()])

    def probability(self, text: str) -> float:
        """Injection probability; long texts are scored in 200-word windows, max taken."""
        entries = [self._word_features(w) for w in text.lower().split()]
        if len(entries) <= _WINDOW_WORDS:
            return _sigmoid(self._decision_of(entries))
        best = -math.inf
        last_start = max(0, len(entries) - _WINDOW_WORDS)
        starts = [*list(range(0, last_start, _WINDOW_STEP)), last_start]
        for start in starts:
            best = max(best, self._decision_of(entries[start : start + _WINDOW_WORDS]))
        return _sigmoid(best)


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)


def _default_threshold() -> float:
    path = data_path(METRICS_FILE)
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
        return float(metrics["threshold"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.5


@lru_cache(maxsize=1)
def bundled_classifier() -> InjectionClassifier:
    """The bundled classifier, loaded once per process."""
    return InjectionClassifier(load_pipeline())

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
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

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
IntArray = npt.NDArray[np.integer[Any]]
# Per distinct word: packed char n-gram indices, packed token ids, and how many of each.
_WordEntry = tuple[bytes, bytes, int, int]
_FIRST, _SECOND, _THIRD, _FOURTH = (itemgetter(i) for i in range(4))


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


def _count(indices: IntArray) -> tuple[IntArray, IntArray]:
    """Distinct values and how often each occurs (``np.unique`` without its overhead)."""
    ordered = np.sort(indices)
    size = len(ordered)
    edges = np.empty(size + 1, dtype=np.bool_)  # True where a new value starts, and at the end
    edges[0] = edges[size] = True
    np.not_equal(ordered[1:], ordered[:-1], out=edges[1:size])
    bounds = edges.nonzero()[0]
    return ordered[bounds[:-1]], bounds[1:] - bounds[:-1]


def _share(weights: FloatArray, scaled: FloatArray) -> float:
    """One vectoriser's part of the decision: coef . (tf-idf / its L2 norm)."""
    squares = float(weights @ weights)
    if squares == 0.0:
        return 0.0
    return float(scaled.sum()) / math.sqrt(squares)


@dataclass(frozen=True, slots=True)
class _Features:
    """A text's n-gram indices laid out word by word, so any run of words is a slice.

    Indices live in one space: word n-grams first, then one "nothing" slot
    (zero weight) for tokens and pairs outside the vocabulary, then character
    n-grams.  ``chars`` holds every in-vocabulary character n-gram, word after
    word; ``unigrams`` one entry per token and ``bigrams`` one per adjacent
    token pair.  ``entries`` are the cached per-word records, whose counts say
    where a word starts (computed only at window boundaries).
    """

    chars: IntArray
    unigrams: IntArray
    bigrams: IntArray
    entries: list[_WordEntry]

    @property
    def words(self) -> int:
        return len(self.entries)

    def offsets(self, word: int) -> tuple[int, int]:
        """Where word number ``word`` starts in ``chars`` and in the token arrays."""
        if word == 0:
            return 0, 0
        if word == len(self.entries):
            return len(self.chars), len(self.unigrams)
        head = self.entries[:word]
        return sum(map(_THIRD, head)), sum(map(_FOURTH, head))


class InjectionClassifier:
    """Probability that a text is a prompt injection, from the bundled linear model.

    Each distinct lowercased word is analysed once (cached): its character
    n-gram indices and its token ids.  A text is then a concatenation of
    cached arrays, and every 200-word window is a slice of them; per window the
    counting, TF-IDF weighting, normalisation and dot products are vectorised.
    """

    def __init__(self, pipeline: Any, threshold: float | None = None) -> None:
        union = pipeline.named_steps["features"]
        model = pipeline.named_steps["model"]
        coef = np.asarray(model.coef_[0], dtype=np.float64)
        word_vec = dict(union.transformer_list)["word"]
        char_vec = dict(union.transformer_list)["char"]
        if (
            word_vec.analyzer != "word"
            or char_vec.analyzer != "char_wb"
            or word_vec.ngram_range[0] != 1
            or word_vec.ngram_range[1] not in (1, 2)
        ):
            raise IntegrityError("injection classifier has an unexpected feature layout")
        idfs: dict[str, FloatArray] = {}
        coefs: dict[str, FloatArray] = {}
        vocabularies: dict[str, dict[str, int]] = {}
        offset = 0
        for name, vectorizer in union.transformer_list:
            size = len(vectorizer.vocabulary_)
            idfs[name] = np.asarray(vectorizer.idf_, dtype=np.float64)
            coefs[name] = coef[offset : offset + size]
            vocabularies[name] = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
            offset += size
        if bool(word_vec.sublinear_tf) != bool(char_vec.sublinear_tf):
            raise IntegrityError("injection classifier has an unexpected feature layout")
        self._sublinear = bool(word_vec.sublinear_tf)
        # One index space: word n-grams, the zero-weight "nothing" slot, character n-grams.
        self._nothing = len(vocabularies["word"])
        self._char_base = self._nothing + 1
        nothing = np.zeros(1, dtype=np.float64)
        self._idf: FloatArray = np.concatenate((idfs["word"], nothing, idfs["char"]))
        self._coef: FloatArray = np.concatenate((coefs["word"], nothing, coefs["char"]))
        self._chars = {k: v + self._char_base for k, v in vocabularies["char"].items()}
        self._char_ngrams: tuple[int, int] = tuple(char_vec.ngram_range)
        # Every token that occurs in a word n-gram gets an id; unigram and bigram
        # indices are then array look-ups on ids.
        token_ids: dict[str, int] = {}
        for gram in vocabularies["word"]:
            for token in gram.split(" "):
                token_ids.setdefault(token, len(token_ids))
        # Last slot: a token outside every word n-gram.
        unigram_of = np.full(len(token_ids) + 1, self._nothing, dtype=np.int32)
        pairs: list[tuple[int, int]] = []
        for gram, index in vocabularies["word"].items():
            parts = gram.split(" ")
            if len(parts) == 1:
                unigram_of[token_ids[gram]] = index
            else:
                pairs.append((token_ids[parts[0]] * len(token_ids) + token_ids[parts[1]], index))
        pairs.sort()
        self._token_ids = token_ids
        self._unknown = len(token_ids)
        self._unigram_of: IntArray = unigram_of
        self._pair_keys: IntArray = np.array([k for k, _ in pairs], dtype=np.int64)
        self._pair_index: IntArray = np.array([i for _, i in pairs], dtype=np.int32)
        self._intercept = float(model.intercept_[0])
        self._cache: dict[str, _WordEntry] = {}
        self.pipeline = pipeline
        self.threshold = threshold if threshold is not None else _default_threshold()

    # Features, mirroring scikit-learn's analyzers ------------------------------------
    def _word_features(self, word: str) -> _WordEntry:
        """Char n-gram indices and token ids of one lowercased word, packed, with their counts."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        chars = self._chars
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
        ids = [self._token_ids.get(t, self._unknown) for t in _WORD.findall(word)]
        entry = (
            np.array(char_found, dtype=np.int32).tobytes(),
            np.array(ids, dtype=np.int32).tobytes(),
            len(char_found),
            len(ids),
        )
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[word] = entry
        return entry

    def _features(self, text: str) -> _Features:
        words = text.lower().split()
        found = list(map(self._cache.get, words))  # look-ups in C; None for unseen words
        entries: list[_WordEntry] = (
            cast(list[_WordEntry], found)
            if all(found)  # entries are non-empty tuples: falsy only when missing
            else [e or self._word_features(w) for e, w in zip(found, words, strict=True)]
        )
        chars = np.frombuffer(b"".join(map(_FIRST, entries)), dtype=np.int32)
        ids = np.frombuffer(b"".join(map(_SECOND, entries)), dtype=np.int32)
        unigrams = self._unigram_of[ids]
        if len(ids) > 1 and len(self._pair_keys):
            wide = ids.astype(np.int64)
            keys = wide[:-1] * self._unknown + wide[1:]
            known = (ids[:-1] != self._unknown) & (ids[1:] != self._unknown)
            slots = np.minimum(self._pair_keys.searchsorted(keys), len(self._pair_keys) - 1)
            hit = known & (self._pair_keys[slots] == keys)
            bigrams = np.where(hit, self._pair_index[slots], self._nothing)
        else:
            bigrams = np.full(max(0, len(ids) - 1), self._nothing, dtype=np.int32)
        return _Features(chars, unigrams, bigrams, entries)

    def _window(self, features: _Features, first: int, last: int) -> float:
        """The decision value of words ``first`` up to (excluding) ``last``."""
        char_begin, begin = features.offsets(first)
        char_end, end = features.offsets(last)
        indices = np.concatenate(
            (
                features.unigrams[begin:end],
                features.bigrams[begin : max(begin, end - 1)],
                features.chars[char_begin:char_end],
            )
        )
        if not len(indices):
            return self._intercept
        keys, counts = _count(indices)
        tf = 1.0 + np.log(counts) if self._sublinear else counts.astype(np.float64)
        weights = tf * self._idf[keys]
        scaled = weights * self._coef[keys]
        split = int(keys.searchsorted(self._char_base))  # word n-grams come first
        return (
            self._intercept
            + _share(weights[:split], scaled[:split])
            + _share(weights[split:], scaled[split:])
        )

    def decision(self, text: str) -> float:
        """The linear decision value of the whole text (same as the pipeline's)."""
        features = self._features(text)
        return self._window(features, 0, features.words)

    def probability(self, text: str) -> float:
        """Injection probability; long texts are scored in 200-word windows, max taken."""
        features = self._features(text)
        count = features.words
        if count <= _WINDOW_WORDS:
            return _sigmoid(self._window(features, 0, count))
        last_start = max(0, count - _WINDOW_WORDS)
        starts = [*list(range(0, last_start, _WINDOW_STEP)), last_start]
        best = max(self._window(features, s, min(count, s + _WINDOW_WORDS)) for s in starts)
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

"""scikit-learn transformers for tables: drop, pseudonymize, mask and generalize columns.

Each one works on a pandas ``DataFrame``, has ``fit``/``transform`` and
``get_feature_names_out``, and drops into a ``Pipeline``.  Fitted state is only
column names: no raw value is ever kept.  Values that cannot be generalized
become missing rather than passing through.  The HMAC key of
``HmacPseudonymizer`` is hidden from ``repr`` and never pickled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from bastion.core.errors import SecretError, ValidationError
from bastion.privacy.transform.analyzer import Analyzer, default_analyzer
from bastion.privacy.transform.anonymize import anonymize
from bastion.privacy.transform.context import DocumentContext
from bastion.privacy.transform.generalize import (
    SAFE_HARBOR_AGE_LIMIT,
    age_band,
    top_code_age,
    year_only,
    zip3,
)
from bastion.privacy.transform.keys import TransformKeys, check_key
from bastion.privacy.transform.operators import mask_value, pseudonym_digest
from bastion.privacy.transform.policy import OperatorPolicy


def as_frame(data: Any, names: Sequence[str] | None = None) -> pd.DataFrame:
    """A DataFrame view of ``data``; arrays get the fitted names or ``x0, x1, ...``."""
    if isinstance(data, pd.DataFrame):
        return data
    array = np.asarray(data, dtype=object)
    if array.ndim != 2:
        raise ValidationError("expected a 2-D table", field="X")
    columns = list(names) if names is not None else [f"x{i}" for i in range(array.shape[1])]
    if len(columns) != array.shape[1]:
        raise ValidationError(f"expected {len(columns)} columns, got {array.shape[1]}", field="X")
    return pd.DataFrame(array, columns=columns)


def map_values(series: pd.Series, function: Callable[[Any], str | None]) -> pd.Series:
    """Apply ``function`` to every non-missing value; missing values stay missing."""
    values = [None if _missing(value) else function(value) for value in series.tolist()]
    return pd.Series(values, index=series.index, dtype=object, name=series.name)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class RedactedKey(bytes):
    """Key bytes that print as ``***`` (in ``repr``, ``get_params`` and pipeline displays)."""

    def __repr__(self) -> str:
        return "b'***'"

    __str__ = __repr__


class HidesKey:
    """Mixin: ``key`` is redacted in displays and dropped when pickled.

    ``get_params`` returns the key as :class:`RedactedKey` (still the same bytes, so
    ``sklearn.clone`` works); ``__getstate__`` drops it, so a saved pipeline never
    contains the key and refuses to run until ``set_params(key=...)``.
    """

    key: bytes | None

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params: dict[str, Any] = super().get_params(deep=deep)  # type: ignore[misc]
        key = params.get("key")
        if isinstance(key, bytes) and not isinstance(key, RedactedKey):
            params["key"] = RedactedKey(key)
            self.key = params["key"]
        return params

    def __getstate__(self) -> dict[str, Any]:
        parent: Any = super()
        state: dict[str, Any] = dict(parent.__getstate__())
        state["key"] = None
        state.pop("_derived", None)
        return state


class ColumnsTransformer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Base: validates ``columns`` at fit, rewrites each of them at transform."""

    columns: Sequence[str]

    def _target_columns(self) -> list[str]:
        if isinstance(self.columns, str) or not self.columns:
            raise ValidationError("give a non-empty list of column names", field="columns")
        return list(self.columns)

    def fit(self, X: Any, y: Any = None) -> ColumnsTransformer:  # noqa: N803 (sklearn API)
        frame = as_frame(X)
        targets = self._target_columns()
        missing = [name for name in targets if name not in frame.columns]
        if missing:
            raise ValidationError(f"column {missing[0]!r} is not in the table", field=missing[0])
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        return self

    def _checked_frame(self, X: Any) -> pd.DataFrame:  # noqa: N803
        check_is_fitted(self, "feature_names_in_")
        frame = as_frame(X, list(self.feature_names_in_))
        missing = [name for name in self._target_columns() if name not in frame.columns]
        if missing:
            raise ValidationError(f"column {missing[0]!r} is not in the table", field=missing[0])
        return frame

    def transform(self, X: Any) -> pd.DataFrame:  # noqa: N803
        frame = self._checked_frame(X).copy()
        for name in self._target_columns():
            frame[name] = self._transform_column(frame[name])
        return frame

    def _transform_column(self, series: pd.Series) -> pd.Series:
        raise NotImplementedError

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names (unchanged for every transformer but ``DropColumns``)."""
        check_is_fitted(self, "feature_names_in_")
        return np.asarray(self.feature_names_in_, dtype=object)


class DropColumns(ColumnsTransformer):
    """Remove the named columns."""

    def __init__(self, columns: Sequence[str] = ()) -> None:
        self.columns = columns

    def transform(self, X: Any) -> pd.DataFrame:  # noqa: N803
        return self._checked_frame(X).drop(columns=self._target_columns())

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_in_")
        dropped = set(self._target_columns())
        return np.asarray([n for n in self.feature_names_in_ if n not in dropped], dtype=object)


class HmacPseudonymizer(HidesKey, ColumnsTransformer):
    """Keyed HMAC pseudonyms: stable under one key, unlinkable across keys.

    Digests equal those of the text operator ``pseudonymize`` for the same value
    and ``entity_type``, so a column and a mention in free text link up.
    """

    def __init__(
        self,
        key: bytes | None = None,
        columns: Sequence[str] = (),
        length: int = 16,
        prefix: str = "",
        entity_type: str = "",
    ) -> None:
        self.key = key
        self.columns = columns
        self.length = length
        self.prefix = prefix
        self.entity_type = entity_type

    def fit(self, X: Any, y: Any = None) -> HmacPseudonymizer:  # noqa: N803
        self._pseudonym_key()
        if not 8 <= self.length <= 64:
            raise ValidationError("length must be between 8 and 64", field="length")
        super().fit(X, y)
        return self

    def _pseudonym_key(self) -> bytes:
        if self.key is None:
            raise SecretError(
                "HmacPseudonymizer has no key (keys are never pickled); set_params(key=...)"
            )
        return TransformKeys(check_key(self.key, "pseudonymization key")).pseudonym

    def transform(self, X: Any) -> pd.DataFrame:  # noqa: N803
        self._derived = self._pseudonym_key()
        try:
            return super().transform(X)
        finally:
            del self._derived

    def _transform_column(self, series: pd.Series) -> pd.Series:
        key, entity, length, prefix = self._derived, self.entity_type, self.length, self.prefix
        return map_values(
            series, lambda value: prefix + pseudonym_digest(key, _text(value), entity, length)
        )


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class Masker(ColumnsTransformer):
    """Mask all but the last ``keep_last`` characters (never more than half)."""

    def __init__(
        self,
        columns: Sequence[str] = (),
        keep_last: int = 4,
        masking_char: str = "*",
        keep_separators: bool = False,
    ) -> None:
        self.columns = columns
        self.keep_last = keep_last
        self.masking_char = masking_char
        self.keep_separators = keep_separators

    def _transform_column(self, series: pd.Series) -> pd.Series:
        if len(self.masking_char) != 1:
            raise ValidationError("masking_char must be one character", field="masking_char")
        return map_values(
            series,
            lambda value: mask_value(
                _text(value), self.keep_last, self.masking_char, self.keep_separators
            ),
        )


class AgeBander(ColumnsTransformer):
    """Ages to ``width``-year bands (``"40-49"``); above ``limit`` (89) to ``"90+"``."""

    def __init__(
        self, columns: Sequence[str] = (), width: int = 10, limit: int = SAFE_HARBOR_AGE_LIMIT
    ) -> None:
        self.columns = columns
        self.width = width
        self.limit = limit

    def _transform_column(self, series: pd.Series) -> pd.Series:
        if self.width < 1:
            raise ValidationError("width must be at least 1", field="width")
        return map_values(series, lambda value: age_band(value, self.width, self.limit))


class AgeTopCoder(ColumnsTransformer):
    """Ages above ``limit`` (89) become ``"90+"``; others whole years."""

    def __init__(self, columns: Sequence[str] = (), limit: int = SAFE_HARBOR_AGE_LIMIT) -> None:
        self.columns = columns
        self.limit = limit

    def _transform_column(self, series: pd.Series) -> pd.Series:
        return map_values(series, lambda value: top_code_age(value, self.limit))


class ZipTruncator(ColumnsTransformer):
    """US ZIP codes to their first 3 digits; Safe Harbor's 17 restricted prefixes to ``"000"``."""

    def __init__(self, columns: Sequence[str] = ()) -> None:
        self.columns = columns

    def _transform_column(self, series: pd.Series) -> pd.Series:
        return map_values(series, zip3)


class DateGeneralizer(ColumnsTransformer):
    """Dates to their year only."""

    def __init__(self, columns: Sequence[str] = ()) -> None:
        self.columns = columns

    def _transform_column(self, series: pd.Series) -> pd.Series:
        return map_values(series, year_only)


class TextDeidentifier(HidesKey, ColumnsTransformer):
    """Span-level de-identification of free-text columns with the detection engine.

    All text columns of one row share a context, so ``<PERSON_1>`` means the same
    person across them; ``person_column`` keys per-person date shifts.
    """

    def __init__(
        self,
        columns: Sequence[str] = (),
        policy: OperatorPolicy | None = None,
        key: bytes | None = None,
        engine: Analyzer | None = None,
        person_column: str | None = None,
    ) -> None:
        self.columns = columns
        self.policy = policy
        self.key = key
        self.engine = engine
        self.person_column = person_column

    def transform(self, X: Any) -> pd.DataFrame:  # noqa: N803
        frame = self._checked_frame(X).copy()
        if self.person_column is not None and self.person_column not in frame.columns:
            raise ValidationError(
                f"person column {self.person_column!r} is not in the table",
                field=self.person_column,
            )
        engine = self.engine if self.engine is not None else default_analyzer()
        policy = self.policy if self.policy is not None else OperatorPolicy()
        targets = self._target_columns()
        people = (
            frame[self.person_column].tolist()
            if self.person_column is not None
            else [None] * len(frame)
        )
        outputs: dict[str, list[str | None]] = {name: [] for name in targets}
        rows = zip(*(frame[name].tolist() for name in targets), strict=True)
        for person, row in zip(people, rows, strict=True):
            context = DocumentContext(
                self.key, person_id=None if _missing(person) else _text(person)
            )
            for name, value in zip(targets, row, strict=True):
                if _missing(value):
                    outputs[name].append(None)
                    continue
                text = str(value)
                spans = engine.analyze(text)
                outputs[name].append(anonymize(text, spans, policy, context=context).text)
        for name in targets:
            frame[name] = pd.Series(outputs[name], index=frame.index, dtype=object)
        return frame

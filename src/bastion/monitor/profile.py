"""Reference profiles and current-window summaries, built chunk by chunk.

A profile holds, per feature, what the drift tests need and nothing else:
numeric features keep bin edges at the reference's quantiles (found with a KLL
sketch, so the reference is never held in memory), exact counts per bin,
moments and per-chunk counts (for data-driven thresholds); categorical
features keep category counts.  Text columns become three derived features:
``<col>:length``, ``<col>:words`` (numeric) and ``<col>:vocabulary`` (token
counts), plus ``<col>:guard`` when a guard scorer is given.  The current
window is summarised on the reference's bins in one pass, so its memory does
not grow with its size.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from bastion.core.errors import ValidationError
from bastion.core.timeutil import isoformat, utcnow
from bastion.monitor.io import DEFAULT_CHUNK_ROWS, iter_chunks
from bastion.monitor.sketch import FloatArray, KllSketch, Moments

ColumnKind = Literal["numeric", "categorical", "text"]
FeatureKind = Literal["numeric", "categorical"]
PROFILE_SCHEMA = "bastion-monitor-profile-1"
OTHER = "__other__"
MAX_CATEGORIES = 200
MAX_CURRENT_CATEGORIES = 10_000
MAX_TOKENS = 2_000
PASS_ONE_CATEGORIES = 50_000
_TOKEN = r"[^\W_]+"  # noqa: S105 - a word pattern, not a secret
GuardScorer = Callable[[str], float]


def infer_kind(series: pd.Series) -> ColumnKind:
    """numeric for numbers with many values, text for long strings, else categorical."""
    non_null = series.dropna()
    if pd.api.types.is_bool_dtype(series):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric" if non_null.nunique() > 20 else "categorical"
    if non_null.empty:
        return "categorical"
    sample = non_null.astype(str).head(1_000)
    if sample.str.len().mean() > 30 and sample.str.count(" ").mean() >= 3:
        return "text"
    return "categorical"


def _numbers(series: pd.Series) -> tuple[FloatArray, int]:
    """Finite values and the count of nulls (non-numeric and infinite count as null)."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    finite = values[np.isfinite(values)]
    return finite, int(values.size - finite.size)


def _labels(series: pd.Series) -> tuple[pd.Series, int]:
    non_null = series.dropna()
    return non_null.astype(str), int(series.size - non_null.size)


def _tokens(texts: pd.Series) -> pd.Series:
    return texts.str.lower().str.findall(_TOKEN).explode().dropna()


def derive(
    name: str, kind: ColumnKind, series: pd.Series, guard: GuardScorer | None
) -> dict[str, tuple[FeatureKind, pd.Series]]:
    """The features a column contributes (text columns contribute several)."""
    if kind != "text":
        return {name: (kind, series)}
    texts = series.dropna().astype(str)
    nulls = pd.Series([None] * (series.size - texts.size), dtype=object)
    features: dict[str, tuple[FeatureKind, pd.Series]] = {
        f"{name}:length": ("numeric", pd.concat([texts.str.len(), nulls], ignore_index=True)),
        f"{name}:words": (
            "numeric",
            pd.concat([texts.str.count(_TOKEN), nulls], ignore_index=True),
        ),
        f"{name}:vocabulary": ("categorical", _tokens(texts)),
    }
    if guard is not None:
        scores = pd.Series([guard(text) for text in texts], dtype=float)
        features[f"{name}:guard"] = ("numeric", pd.concat([scores, nulls], ignore_index=True))
    return features


@dataclass
class FeatureProfile:
    """Reference statistics of one feature."""

    name: str
    source: str
    kind: FeatureKind
    rows: int = 0
    nulls: int = 0
    edges: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    chunk_counts: list[list[int]] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=dict)
    chunk_categories: list[dict[str, int]] = field(default_factory=list)
    moments: Moments = field(default_factory=Moments)
    sketch: KllSketch = field(default_factory=KllSketch)

    @property
    def values(self) -> int:
        """Non-null observations (tokens, for a vocabulary)."""
        return self.moments.count if self.kind == "numeric" else sum(self.categories.values())

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "rows": self.rows,
            "nulls": self.nulls,
        }
        if self.kind == "numeric":
            data.update(
                edges=self.edges,
                counts=self.counts,
                chunk_counts=self.chunk_counts,
                moments=self.moments.to_dict(),
                sketch=self.sketch.to_dict(),
            )
        else:
            data.update(categories=self.categories, chunk_categories=self.chunk_categories)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureProfile:
        kind = data["kind"]
        if kind not in ("numeric", "categorical"):
            raise ValueError(f"unknown feature kind {kind!r}")
        profile = cls(str(data["name"]), str(data["source"]), kind, int(data["rows"]))
        profile.nulls = int(data["nulls"])
        if kind == "numeric":
            profile.edges = [float(v) for v in data["edges"]]
            profile.counts = [int(v) for v in data["counts"]]
            profile.chunk_counts = [[int(v) for v in row] for row in data["chunk_counts"]]
            profile.moments = Moments.from_dict(data["moments"])
            profile.sketch = KllSketch.from_dict(data["sketch"])
            if len(profile.counts) != len(profile.edges) + 1:
                raise ValueError(f"{profile.name}: counts do not match edges")
        else:
            profile.categories = {str(k): int(v) for k, v in data["categories"].items()}
            profile.chunk_categories = [
                {str(k): int(v) for k, v in chunk.items()} for chunk in data["chunk_categories"]
            ]
        return profile


@dataclass
class Profile:
    """A reference profile: column kinds and feature statistics, persisted as JSON."""

    columns: dict[str, ColumnKind]
    features: dict[str, FeatureProfile]
    rows: int
    created_at: str = field(default_factory=lambda: isoformat(utcnow()))
    source: str = ""
    guard_scores: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": PROFILE_SCHEMA,
            "created_at": self.created_at,
            "source": self.source,
            "rows": self.rows,
            "guard_scores": self.guard_scores,
            "columns": self.columns,
            "features": [feature.to_dict() for feature in self.features.values()],
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), separators=(",", ":")) + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, file: str | None = None) -> Profile:
        if data.get("schema") != PROFILE_SCHEMA:
            raise ValidationError(f"not a profile (schema must be {PROFILE_SCHEMA})", file=file)
        try:
            columns: dict[str, ColumnKind] = {}
            for name, kind in dict(data["columns"]).items():
                if kind not in ("numeric", "categorical", "text"):
                    raise ValueError(f"column {name!r} has unknown kind {kind!r}")
                columns[str(name)] = kind
            features = [FeatureProfile.from_dict(item) for item in data["features"]]
            return cls(
                columns=columns,
                features={feature.name: feature for feature in features},
                rows=int(data["rows"]),
                created_at=str(data.get("created_at", "")),
                source=str(data.get("source", "")),
                guard_scores=bool(data.get("guard_scores", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"malformed profile: {exc}", file=file) from None

    def merge(self, other: Profile) -> Profile:
        """The profile of both data sets together (same columns and bins: see ``like``)."""
        if other.columns != self.columns or set(other.features) != set(self.features):
            raise ValidationError("profiles of different columns cannot be merged", field="columns")
        merged: dict[str, FeatureProfile] = {}
        for name, mine in self.features.items():
            theirs = other.features[name]
            if mine.kind != theirs.kind or mine.edges != theirs.edges:
                raise ValidationError(
                    "bins differ; profile the new data with like=<this profile>", field=name
                )
            feature = FeatureProfile(name, mine.source, mine.kind, mine.rows + theirs.rows)
            feature.nulls = mine.nulls + theirs.nulls
            feature.edges = list(mine.edges)
            feature.counts = [a + b for a, b in zip(mine.counts, theirs.counts, strict=True)]
            feature.chunk_counts = [*mine.chunk_counts, *theirs.chunk_counts]
            feature.moments = Moments.from_dict(mine.moments.to_dict())
            feature.moments.merge(theirs.moments)
            feature.sketch = KllSketch.from_dict(mine.sketch.to_dict())
            feature.sketch.merge(theirs.sketch)
            totals = Counter(mine.categories)
            totals.update(theirs.categories)
            feature.categories = dict(totals)
            feature.chunk_categories = [*mine.chunk_categories, *theirs.chunk_categories]
            merged[name] = feature
        return Profile(
            columns=dict(self.columns),
            features=merged,
            rows=self.rows + other.rows,
            source=f"{self.source} + {other.source}",
            guard_scores=self.guard_scores,
        )

    @classmethod
    def load(cls, path: Path) -> Profile:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValidationError("profile file not found", file=str(path)) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError(f"not JSON: {exc}", file=str(path)) from None
        if not isinstance(data, dict):
            raise ValidationError("a profile is a JSON object", file=str(path))
        return cls.from_dict(data, file=str(path))


def _edges_from(sketch: KllSketch, bins: int) -> list[float]:
    if sketch.count == 0:
        return []
    quantiles = sketch.quantiles(np.linspace(0.0, 1.0, bins + 1)[1:-1])
    edges = np.unique(quantiles)
    if edges.size == 0 or (edges.size == 1 and sketch.count > 0):
        value = float(edges[0]) if edges.size else float(sketch.quantiles(np.array([0.5]))[0])
        return [value, float(np.nextafter(value, math.inf))]
    return [float(v) for v in edges]


def bin_counts(values: FloatArray, edges: list[float]) -> FloatArray:
    """Counts of ``values`` in the bins ``(-inf, e0), [e0, e1), …, [e_last, inf)``."""
    index = np.searchsorted(np.asarray(edges), values, side="right")
    return np.bincount(index, minlength=len(edges) + 1).astype(np.float64)


def _kinds_of(frame: pd.DataFrame, given: Mapping[str, ColumnKind] | None) -> dict[str, ColumnKind]:
    kinds: dict[str, ColumnKind] = {}
    for column in frame.columns:
        name = str(column)
        if given and name in given:
            kind = given[name]
            if kind not in ("numeric", "categorical", "text"):
                raise ValidationError(
                    f"kind must be numeric, categorical or text, not {kind!r}", field=name
                )
            kinds[name] = kind
        else:
            kinds[name] = infer_kind(frame[column])
    return kinds


def profile_reference(
    source: Path | pd.DataFrame,
    *,
    kinds: Mapping[str, ColumnKind] | None = None,
    bins: int = 50,
    chunks: int = 10,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    guard: GuardScorer | None = None,
    like: Profile | None = None,
) -> Profile:
    """Profile a reference data set in two streaming passes (edges, then exact counts).

    With ``like``, the columns, bin edges and kept categories are those of an
    existing profile, so the two can be combined with :meth:`Profile.merge`
    (e.g. a reference grown one day at a time without rereading old days).
    """
    if bins < 2 or chunks < 1:
        raise ValidationError("bins must be at least 2 and chunks at least 1", field="bins")
    columns: dict[str, ColumnKind] | None = None
    features: dict[str, FeatureProfile] = {}
    rows = 0
    for frame in iter_chunks(source, chunk_rows=chunk_rows):
        if columns is None:
            columns = dict(like.columns) if like is not None else _kinds_of(frame, kinds)
        rows += len(frame)
        for column, kind in columns.items():
            if column not in frame.columns:
                raise ValidationError("column missing in part of the reference", field=column)
            for name, (fkind, series) in derive(column, kind, frame[column], guard).items():
                feature = features.setdefault(name, FeatureProfile(name, column, fkind))
                if fkind == "numeric":
                    values, nulls = _numbers(series)
                    feature.sketch.update(values)
                    feature.moments.update(values)
                else:
                    labels, nulls = _labels(series)
                    for key, count in labels.value_counts().items():
                        feature.categories[str(key)] = feature.categories.get(str(key), 0) + int(
                            count
                        )
                    if len(feature.categories) > PASS_ONE_CATEGORIES:
                        # Bounded memory for id-like columns: only frequent values
                        # can be kept anyway; the rest become __other__ in pass two.
                        feature.categories = dict(
                            Counter(feature.categories).most_common(PASS_ONE_CATEGORIES // 4)
                        )
                feature.nulls += nulls
                feature.rows += len(series) if name.endswith(":vocabulary") else len(frame)
    if columns is None or rows == 0:
        raise ValidationError("the reference has no rows; a profile needs data", field="reference")
    chunk_size = max(1, math.ceil(rows / chunks))
    n_chunks = math.ceil(rows / chunk_size)
    for feature in features.values():
        template = like.features.get(feature.name) if like is not None else None
        if template is not None and template.kind == "numeric":
            feature.edges = list(template.edges)
            feature.chunk_counts = [[0] * (len(feature.edges) + 1) for _ in range(n_chunks)]
        elif template is not None:
            feature.categories = {key: 0 for key in template.categories}
            feature.chunk_categories = [{} for _ in range(n_chunks)]
        elif feature.kind == "numeric":
            feature.edges = _edges_from(feature.sketch, bins)
            feature.chunk_counts = [[0] * (len(feature.edges) + 1) for _ in range(n_chunks)]
        else:
            limit = MAX_TOKENS if feature.name.endswith(":vocabulary") else MAX_CATEGORIES
            top = Counter(feature.categories).most_common(limit)
            kept = dict(top)
            other = sum(feature.categories.values()) - sum(kept.values())
            if other:
                kept[OTHER] = other
            feature.categories = kept
            feature.chunk_categories = [{} for _ in range(n_chunks)]
    _second_pass(source, columns, features, chunk_size, chunk_rows, guard)
    for feature in features.values():
        if feature.kind == "numeric":
            feature.counts = [int(sum(col)) for col in zip(*feature.chunk_counts, strict=True)]
        else:
            # Exact totals from the second pass (the first may have pruned rare values).
            totals: Counter[str] = Counter()
            for chunk in feature.chunk_categories:
                totals.update(chunk)
            feature.categories = dict(totals)
    return Profile(
        columns=columns,
        features=features,
        rows=rows,
        source=str(source) if isinstance(source, Path) else "data frame",
        guard_scores=guard is not None,
    )


def _second_pass(
    source: Path | pd.DataFrame,
    columns: Mapping[str, ColumnKind],
    features: Mapping[str, FeatureProfile],
    chunk_size: int,
    chunk_rows: int,
    guard: GuardScorer | None,
) -> None:
    offset = 0
    for frame in iter_chunks(source, chunk_rows=chunk_rows):
        row_chunk = (offset + np.arange(len(frame))) // chunk_size
        for column, kind in columns.items():
            if kind == "text":
                # Chunk membership of text-derived values follows their row.
                for index in np.unique(row_chunk):
                    part = frame[column][row_chunk == index]
                    for name, (_, series) in derive(column, kind, part, guard).items():
                        _count_into(features[name], series, int(index))
                continue
            series = frame[column]
            for index in np.unique(row_chunk):
                _count_into(features[column], series[row_chunk == index], int(index))
        offset += len(frame)


def _count_into(feature: FeatureProfile, series: pd.Series, chunk: int) -> None:
    if feature.kind == "numeric":
        values, _ = _numbers(series)
        counts = bin_counts(values, feature.edges)
        row = feature.chunk_counts[chunk]
        for index, value in enumerate(counts):
            row[index] += int(value)
        return
    labels, _ = _labels(series)
    target = feature.chunk_categories[chunk]
    for key, count in labels.value_counts().items():
        label = str(key) if str(key) in feature.categories else OTHER
        target[label] = target.get(label, 0) + int(count)


@dataclass
class WindowFeature:
    """A current window's statistics for one feature, on the reference's bins."""

    name: str
    kind: FeatureKind
    rows: int = 0
    nulls: int = 0
    counts: FloatArray = field(default_factory=lambda: np.zeros(0))
    categories: Counter[str] = field(default_factory=Counter)
    moments: Moments = field(default_factory=Moments)

    @property
    def values(self) -> int:
        return self.moments.count if self.kind == "numeric" else sum(self.categories.values())


@dataclass
class Window:
    """A summarised current window: which columns it had and per-feature statistics."""

    columns: list[str]
    rows: int
    features: dict[str, WindowFeature]


def summarize_window(
    profile: Profile,
    source: Path | pd.DataFrame | Iterable[pd.DataFrame],
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    guard: GuardScorer | None = None,
) -> Window:
    """One pass over the current data; memory is bounded by the profile, not the data."""
    frames: Iterable[pd.DataFrame] = (
        iter_chunks(source, chunk_rows=chunk_rows)
        if isinstance(source, (Path, pd.DataFrame))
        else source
    )
    features = {
        name: WindowFeature(
            name,
            feature.kind,
            counts=np.zeros(len(feature.edges) + 1) if feature.kind == "numeric" else np.zeros(0),
        )
        for name, feature in profile.features.items()
    }
    seen: list[str] | None = None
    rows = 0
    for frame in frames:
        names = [str(c) for c in frame.columns]
        seen = names if seen is None else seen + [n for n in names if n not in seen]
        rows += len(frame)
        for column, kind in profile.columns.items():
            if column not in frame.columns:
                continue
            derived = derive(column, kind, frame[column], guard if profile.guard_scores else None)
            for name, (_, series) in derived.items():
                _accumulate(features[name], profile.features[name], series, len(frame))
    return Window(columns=seen or [], rows=rows, features=features)


def _accumulate(
    target: WindowFeature, reference: FeatureProfile, series: pd.Series, frame_rows: int
) -> None:
    target.rows += len(series) if reference.name.endswith(":vocabulary") else frame_rows
    if target.kind == "numeric":
        values, nulls = _numbers(series)
        target.nulls += nulls
        target.counts += bin_counts(values, reference.edges)
        target.moments.update(values)
        return
    labels, nulls = _labels(series)
    target.nulls += nulls
    for key, count in labels.value_counts().items():
        label = str(key)
        if label not in target.categories and len(target.categories) >= MAX_CURRENT_CATEGORIES:
            label = OTHER
        target.categories[label] += int(count)

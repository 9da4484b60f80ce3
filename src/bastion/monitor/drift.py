"""Drift between a reference profile and a current window, feature by feature.

Every test runs on the same binned counts (numeric features on the
reference's quantile bins, categorical ones on the union of categories), so a
window summarised in constant memory supports all five: PSI, Kolmogorov–Smirnov,
chi-square, Jensen–Shannon distance and (normalised) Wasserstein distance.
KS on bins is exact at the bin edges and a lower bound of the raw statistic.

Defaults follow common practice: small samples (≤ 1000 values) get a test
with a p-value (KS for numbers, chi-square for categories, alpha 0.05); large
ones a distance whose value does not shrink to "significant" with n
(Wasserstein / std ≥ 0.1, Jensen–Shannon ≥ 0.1).  With ``data_driven=True``
the threshold of a distance is taken from how much the reference's own chunks
differ from the rest of the reference: max(largest, mean + 3 sd).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from bastion.core.errors import ValidationError
from bastion.monitor.profile import (
    FeatureProfile,
    GuardScorer,
    Profile,
    Window,
    WindowFeature,
    profile_reference,
    summarize_window,
)
from bastion.monitor.sketch import FloatArray

Method = Literal["psi", "ks", "chi2", "jensenshannon", "wasserstein"]
METHODS: tuple[Method, ...] = ("psi", "ks", "chi2", "jensenshannon", "wasserstein")
P_VALUE_METHODS = frozenset({"ks", "chi2"})
DEFAULT_THRESHOLDS: dict[str, float] = {
    "psi": 0.2,
    "ks": 0.05,
    "chi2": 0.05,
    "jensenshannon": 0.1,
    "wasserstein": 0.1,
}
SMALL_SAMPLE = 1_000
_EPS = 1e-4
REPORT_SCHEMA = "bastion-monitor-drift-1"


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's verdict; ``drifted`` is None when no test could run (see ``status``)."""

    feature: str
    column: str
    kind: str
    method: str | None
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool | None
    status: str
    message: str = ""
    reference_values: int = 0
    current_values: int = 0
    reference_null_rate: float | None = None
    current_null_rate: float | None = None
    new_categories: list[str] = field(default_factory=list)
    missing_categories: list[str] = field(default_factory=list)
    decided_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "column": self.column,
            "kind": self.kind,
            "method": self.method,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "threshold": self.threshold,
            "decided_by": self.decided_by,
            "drifted": self.drifted,
            "status": self.status,
            "message": self.message,
            "reference_values": self.reference_values,
            "current_values": self.current_values,
            "reference_null_rate": self.reference_null_rate,
            "current_null_rate": self.current_null_rate,
            "new_categories": self.new_categories[:20],
            "missing_categories": self.missing_categories[:20],
        }


@dataclass(frozen=True)
class DriftReport:
    """All features' verdicts plus the columns that did not line up."""

    features: list[FeatureDrift]
    reference_rows: int
    current_rows: int
    missing_columns: list[str]
    unexpected_columns: list[str]

    @property
    def drifted(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    @property
    def share_drifted(self) -> float | None:
        tested = [f for f in self.features if f.drifted is not None]
        return len(self.drifted) / len(tested) if tested else None

    @property
    def problems(self) -> list[str]:
        """Human-readable notes about features that could not be tested."""
        notes = [f"{f.feature}: {f.message}" for f in self.features if f.status != "ok"]
        notes += [
            f"{c}: in the reference but not in the current data" for c in self.missing_columns
        ]
        notes += [
            f"{c}: in the current data but not in the reference (not tested)"
            for c in self.unexpected_columns
        ]
        return notes

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "drifted_features": self.drifted,
            "share_drifted": self.share_drifted,
            "missing_columns": self.missing_columns,
            "unexpected_columns": self.unexpected_columns,
            "problems": self.problems,
            "features": [f.to_dict() for f in self.features],
        }


# Statistics on binned counts --------------------------------------------------------
def _shares(counts: FloatArray) -> FloatArray:
    total = counts.sum()
    clipped: FloatArray = np.clip(counts / total, _EPS, None)
    shares: FloatArray = clipped / clipped.sum()
    return shares


def psi(reference: FloatArray, current: FloatArray) -> float:
    """Population stability index, with empty bins smoothed to 1e-4."""
    p, q = _shares(reference), _shares(current)
    return float(np.sum((q - p) * np.log(q / p)))


def jensen_shannon(reference: FloatArray, current: FloatArray) -> float:
    """Jensen–Shannon distance (base 2, so in [0, 1])."""
    p, q = reference / reference.sum(), current / current.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log2(p / m), 0.0).sum()
        right = np.where(q > 0, q * np.log2(q / m), 0.0).sum()
    return float(math.sqrt(max(0.0, (left + right) / 2)))


def chi_square(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """Chi-square test of homogeneity on the two count vectors (statistic, p-value)."""
    from scipy import stats  # imported here: scipy.stats costs ~1 s at start-up

    keep = (reference + current) > 0
    table = np.vstack([reference[keep], current[keep]])
    if table.shape[1] < 2:
        return 0.0, 1.0
    statistic, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    return float(statistic), float(p_value)


def ks_binned(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """Two-sample KS statistic at the bin edges and its asymptotic p-value."""
    from scipy import special

    n, m = reference.sum(), current.sum()
    d = float(np.max(np.abs(np.cumsum(reference) / n - np.cumsum(current) / m)))
    effective = n * m / (n + m)
    return d, float(special.kolmogorov(d * math.sqrt(effective)))


def wasserstein_binned(
    reference: FloatArray, current: FloatArray, edges: list[float], low: float, high: float
) -> float:
    """W1 between piecewise-linear CDFs through the bin edges (outer bins end at low/high)."""
    points = np.asarray([low, *edges, high], dtype=np.float64)
    points = np.maximum.accumulate(points)
    diff = np.concatenate([[0.0], np.cumsum(current) / current.sum()]) - np.concatenate(
        [[0.0], np.cumsum(reference) / reference.sum()]
    )
    a, b = diff[:-1], diff[1:]
    width = np.diff(points)
    same = a * b >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(
            np.abs(a) + np.abs(b) > 0, (a * a + b * b) / (2 * (np.abs(a) + np.abs(b))), 0.0
        )
    area = np.where(same, (np.abs(a) + np.abs(b)) / 2, crossing) * width
    return float(area.sum())


# Choosing and running tests ----------------------------------------------------------
def default_method(kind: str, values: int) -> Method:
    """The test used when none is asked for, by feature type and sample size."""
    small = values <= SMALL_SAMPLE
    if kind == "numeric":
        return "ks" if small else "wasserstein"
    return "chi2" if small else "jensenshannon"


def _aligned(
    reference: FeatureProfile, counts: Mapping[str, int], current: Mapping[str, int]
) -> tuple[FloatArray, FloatArray, list[str], list[str]]:
    labels = sorted(set(counts) | set(current))
    ref = np.asarray([counts.get(label, 0) for label in labels], dtype=np.float64)
    cur = np.asarray([current.get(label, 0) for label in labels], dtype=np.float64)
    new = sorted(label for label in current if label not in counts)
    missing = sorted(label for label in counts if label not in current)
    return ref, cur, new, missing


def _statistic(
    method: str,
    kind: str,
    reference: FloatArray,
    current: FloatArray,
    feature: FeatureProfile,
    low: float,
    high: float,
) -> tuple[float, float | None]:
    if method == "psi":
        return psi(reference, current), None
    if method == "jensenshannon":
        return jensen_shannon(reference, current), None
    if method == "chi2":
        return chi_square(reference, current)
    if kind != "numeric":
        raise ValidationError(f"{method} needs a numeric feature", field=feature.name)
    if method == "ks":
        return ks_binned(reference, current)
    scale = feature.moments.std or 1.0
    return wasserstein_binned(reference, current, feature.edges, low, high) / scale, None


def _chunk_threshold(method: str, feature: FeatureProfile) -> float | None:
    """max(largest, mean + 3 sd) of the statistic between each reference chunk and the rest."""
    if feature.kind == "numeric":
        chunks = [np.asarray(row, dtype=np.float64) for row in feature.chunk_counts]
        total = np.asarray(feature.counts, dtype=np.float64)
        pairs = [(total - chunk, chunk) for chunk in chunks]
    else:
        labels = sorted(feature.categories)
        total = np.asarray([feature.categories[k] for k in labels], dtype=np.float64)
        chunks = [
            np.asarray([c.get(k, 0) for k in labels], dtype=np.float64)
            for c in feature.chunk_categories
        ]
        pairs = [(total - chunk, chunk) for chunk in chunks]
    low = feature.moments.minimum if feature.moments.count else 0.0
    high = feature.moments.maximum if feature.moments.count else 0.0
    values = [
        _statistic(method, feature.kind, rest, chunk, feature, low, high)[0]
        for rest, chunk in pairs
        if rest.sum() > 0 and chunk.sum() > 0
    ]
    if len(values) < 2:
        return None
    return max(max(values), float(np.mean(values) + 3 * np.std(values)))


def _null_rate(nulls: int, rows: int) -> float | None:
    return nulls / rows if rows else None


def compare_feature(
    feature: FeatureProfile,
    window: WindowFeature,
    *,
    method: str | None = None,
    threshold: float | None = None,
    data_driven: bool = False,
) -> FeatureDrift:
    """Test one feature; never returns NaN — untestable cases carry a status and message."""
    base: dict[str, Any] = {
        "feature": feature.name,
        "column": feature.source,
        "kind": feature.kind,
        "reference_values": feature.values,
        "current_values": window.values,
        "reference_null_rate": _null_rate(feature.nulls, feature.rows),
        "current_null_rate": _null_rate(window.nulls, window.rows),
    }

    def untested(status: str, message: str) -> FeatureDrift:
        return FeatureDrift(
            **base,
            method=None,
            statistic=None,
            p_value=None,
            threshold=None,
            drifted=None,
            status=status,
            message=message,
        )

    if feature.values == 0:
        return untested("all-null-reference", "every reference value is null; nothing to compare")
    if window.rows == 0:
        return untested("empty-window", "the current window has no rows")
    if window.values == 0:
        return untested(
            "all-null-current", "every current value is null (the column may have broken)"
        )
    chosen = method or default_method(feature.kind, min(feature.values, window.values))
    if chosen not in METHODS:
        raise ValidationError(
            f"unknown method {chosen!r}; use {', '.join(METHODS)}", field="method"
        )
    if chosen in ("ks", "wasserstein") and feature.kind != "numeric":
        chosen = "chi2" if method == "ks" else "jensenshannon"
    new: list[str] = []
    missing: list[str] = []
    if feature.kind == "numeric":
        ref = np.asarray(feature.counts, dtype=np.float64)
        cur = window.counts
        low = min(feature.moments.minimum, window.moments.minimum)
        high = max(feature.moments.maximum, window.moments.maximum)
    else:
        ref, cur, new, missing = _aligned(feature, feature.categories, window.categories)
        low = high = 0.0
    statistic, p_value = _statistic(chosen, feature.kind, ref, cur, feature, low, high)
    limit = threshold if threshold is not None else DEFAULT_THRESHOLDS[chosen]
    by_p_value = chosen in P_VALUE_METHODS
    note = ""
    if data_driven:
        learned = _chunk_threshold(chosen, feature)
        if learned is not None:
            limit, by_p_value = learned, False
            note = "threshold from reference chunks"
        else:
            note = "too few reference chunks for a data-driven threshold; default used"
    if not math.isfinite(statistic) or (p_value is not None and not math.isfinite(p_value)):
        return untested("not-computable", f"{chosen} is undefined for these counts")
    if by_p_value:
        assert p_value is not None
        drifted = p_value < limit
    else:
        drifted = statistic >= limit and statistic > 0
    if new and not note:
        note = f"{len(new)} categor{'y' if len(new) == 1 else 'ies'} only in the current window"
    return FeatureDrift(
        **base,
        method=chosen,
        statistic=statistic,
        p_value=p_value,
        threshold=limit,
        drifted=bool(drifted),
        status="ok",
        message=note,
        new_categories=new,
        missing_categories=missing,
        decided_by="p_value" if by_p_value else "statistic",
    )


def compare(
    profile: Profile,
    window: Window,
    *,
    methods: Mapping[str, str] | None = None,
    method: str | None = None,
    thresholds: Mapping[str, float] | None = None,
    data_driven: bool = False,
) -> DriftReport:
    """Drift of every reference feature; ``methods``/``thresholds`` override per feature."""
    results = []
    missing = [c for c in profile.columns if c not in window.columns]
    for name, feature in profile.features.items():
        if feature.source in missing:
            continue
        results.append(
            compare_feature(
                feature,
                window.features[name],
                method=(methods or {}).get(name, method),
                threshold=(thresholds or {}).get(name),
                data_driven=data_driven,
            )
        )
    unexpected = [c for c in window.columns if c not in profile.columns]
    return DriftReport(results, profile.rows, window.rows, missing, unexpected)


def drift(
    reference: Path | pd.DataFrame | Profile,
    current: Path | pd.DataFrame,
    *,
    method: str | None = None,
    data_driven: bool = False,
    chunk_rows: int = 200_000,
    guard: GuardScorer | None = None,
) -> tuple[DriftReport, Profile, Window]:
    """Library entry: profile the reference if needed, stream the current data, compare."""
    if isinstance(reference, Path) and reference.suffix.lower() == ".json":
        reference = Profile.load(reference)
    profile = (
        reference
        if isinstance(reference, Profile)
        else profile_reference(reference, chunk_rows=chunk_rows, guard=guard)
    )
    window = summarize_window(profile, current, chunk_rows=chunk_rows, guard=guard)
    report = compare(profile, window, method=method, data_driven=data_driven)
    return report, profile, window

"""Group fairness and performance from logged predictions and later-arriving labels.

Predictions are logged when served (id, group, prediction, optional score and
time); labels arrive later keyed by the prediction id.  Per group, every rate
is a function of a small table of counts (prediction × label × score decile),
so bootstrap intervals resample that table with a multinomial draw instead of
resampling rows — the same intervals at a fraction of the cost.  A rate whose
denominator is zero is reported as ``None`` with a note, never as NaN.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from bastion.core.errors import ValidationError

MISSING_GROUP = "(missing)"
SCORE_BINS = 10
FOUR_FIFTHS = 0.8
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class JoinResult:
    """Predictions with their labels attached, and what did not join."""

    frame: pd.DataFrame
    labelled: int
    unknown_label_ids: list[str]
    duplicate_labels: int

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.unknown_label_ids:
            shown = ", ".join(self.unknown_label_ids[:5])
            notes.append(
                f"{len(self.unknown_label_ids)} label(s) for unknown prediction ids "
                f"({shown}); ignored"
            )
        if self.duplicate_labels:
            notes.append(f"{self.duplicate_labels} duplicate label(s); the last one was used")
        return notes


def join_labels(
    predictions: pd.DataFrame,
    labels: pd.DataFrame | None,
    *,
    id_column: str = "prediction_id",
    label_column: str = "label",
) -> JoinResult:
    """Attach later-arriving labels by prediction id (unknown ids are counted, not fatal)."""
    if id_column not in predictions.columns:
        raise ValidationError("predictions need an id column", field=id_column)
    frame = predictions.copy()
    frame[id_column] = frame[id_column].astype(str)
    if labels is None:
        if label_column not in frame.columns:
            frame[label_column] = np.nan
        return JoinResult(frame, int(frame[label_column].notna().sum()), [], 0)
    for column in (id_column, label_column):
        if column not in labels.columns:
            raise ValidationError("labels need this column", field=column)
    labels = labels[[id_column, label_column]].copy()
    labels[id_column] = labels[id_column].astype(str)
    duplicates = int(labels.duplicated(subset=[id_column]).sum())
    labels = labels.drop_duplicates(subset=[id_column], keep="last")
    known = set(frame[id_column])
    unknown = sorted(i for i in labels[id_column] if i not in known)
    if label_column in frame.columns:
        frame = frame.drop(columns=[label_column])
    frame = frame.merge(labels, on=id_column, how="left")
    return JoinResult(frame, int(frame[label_column].notna().sum()), unknown, duplicates)


def _binary(series: pd.Series, positive: Any, name: str) -> pd.Series:
    present = series.notna()
    values = series[present]
    if values.empty:
        return pd.Series(np.nan, index=series.index)
    if pd.api.types.is_numeric_dtype(values) and set(pd.unique(values)) <= {0, 1}:
        out = values.astype(float)
    else:
        out = (values.astype(str) == str(positive)).astype(float)
    result = pd.Series(np.nan, index=series.index)
    result[present] = out
    return result


@dataclass(frozen=True)
class Interval:
    """A point estimate and a bootstrap interval (None when undefined)."""

    value: float | None
    low: float | None = None
    high: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class GroupMetrics:
    group: str
    count: int
    labelled: int
    selection_rate: Interval
    tpr: Interval
    fpr: Interval
    precision: Interval
    calibration_gap: Interval

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "count": self.count,
            "labelled": self.labelled,
            "selection_rate": self.selection_rate.to_dict(),
            "tpr": self.tpr.to_dict(),
            "fpr": self.fpr.to_dict(),
            "precision": self.precision.to_dict(),
            "calibration_gap": self.calibration_gap.to_dict(),
        }


@dataclass(frozen=True)
class FairnessReport:
    attribute: str
    groups: list[GroupMetrics]
    demographic_parity_difference: Interval
    demographic_parity_ratio: Interval
    equalized_odds_difference: Interval
    disparate_impact: dict[str, Interval]
    four_fifths_passed: bool | None
    reference_group: str | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "groups": [g.to_dict() for g in self.groups],
            "demographic_parity_difference": self.demographic_parity_difference.to_dict(),
            "demographic_parity_ratio": self.demographic_parity_ratio.to_dict(),
            "equalized_odds_difference": self.equalized_odds_difference.to_dict(),
            "disparate_impact": {k: v.to_dict() for k, v in self.disparate_impact.items()},
            "four_fifths_passed": self.four_fifths_passed,
            "reference_group": self.reference_group,
            "notes": self.notes,
        }


# Cell layout: prediction (2) × label (0, 1, unknown) × score bin (SCORE_BINS).
def _cells(pred: FloatArray, label: FloatArray, score: FloatArray | None) -> IntArray:
    label_index = np.where(np.isnan(label), 2, label).astype(np.int64)
    if score is None:
        score_index = np.zeros(pred.size, dtype=np.int64)
    else:
        score_index = np.clip((score * SCORE_BINS).astype(np.int64), 0, SCORE_BINS - 1)
    flat = (pred.astype(np.int64) * 3 + label_index) * SCORE_BINS + score_index
    return np.bincount(flat, minlength=2 * 3 * SCORE_BINS).astype(np.int64)


def _rates(cells: npt.NDArray[Any], score_means: FloatArray | None) -> dict[str, FloatArray]:
    """Metrics for a (..., 2, 3, SCORE_BINS) array of counts; NaN where undefined."""
    c = cells.reshape(*cells.shape[:-1], 2, 3, SCORE_BINS).astype(np.float64)
    by_pl = c.sum(axis=-1)
    total = by_pl.sum(axis=(-1, -2))
    tp, fp = by_pl[..., 1, 1], by_pl[..., 1, 0]
    fn, tn = by_pl[..., 0, 1], by_pl[..., 0, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "selection_rate": by_pl[..., 1, :].sum(axis=-1) / total,
            "tpr": tp / (tp + fn),
            "fpr": fp / (fp + tn),
            "precision": tp / (tp + fp),
        }
        if score_means is not None:
            labelled = c[..., :, :2, :].sum(axis=(-3, -2))
            positives = c[..., :, 1, :].sum(axis=-2)
            observed = positives / labelled
            weight = labelled / labelled.sum(axis=-1, keepdims=True)
            gap = np.abs(observed - score_means)
            out["calibration_gap"] = np.nansum(np.where(labelled > 0, gap * weight, 0.0), axis=-1)
            out["calibration_gap"] = np.where(
                labelled.sum(axis=-1) > 0, out["calibration_gap"], np.nan
            )
        else:
            out["calibration_gap"] = np.full(total.shape, np.nan)
    return out


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _interval(point: float, samples: FloatArray, confidence: float) -> Interval:
    if not math.isfinite(point):
        return Interval(None)
    finite = samples[np.isfinite(samples)]
    if finite.size < max(10, samples.size // 2):
        return Interval(float(point))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Interval(float(point), float(low), float(high))


def fairness_report(
    frame: pd.DataFrame,
    *,
    attribute: str,
    prediction_column: str = "prediction",
    label_column: str = "label",
    score_column: str | None = None,
    positive: Any = 1,
    reference_group: str | None = None,
    bootstrap: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
    notes: Sequence[str] = (),
) -> FairnessReport:
    """Per-group metrics and gaps with bootstrap intervals for one protected attribute."""
    for column in (attribute, prediction_column):
        if column not in frame.columns:
            raise ValidationError("column not found in the predictions", field=column)
    if frame.empty:
        raise ValidationError("no predictions to assess", field=prediction_column)
    groups = frame[attribute].astype(object).where(frame[attribute].notna(), MISSING_GROUP)
    groups = groups.astype(str)
    pred = _binary(frame[prediction_column], positive, prediction_column).to_numpy()
    if np.isnan(pred).any():
        raise ValidationError("predictions must not be empty", field=prediction_column)
    label_series = (
        frame[label_column]
        if label_column in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    label = _binary(label_series, positive, label_column).to_numpy()
    score: FloatArray | None = None
    if score_column is not None:
        if score_column not in frame.columns:
            raise ValidationError("column not found in the predictions", field=score_column)
        score = pd.to_numeric(frame[score_column], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(score).any() or (score < 0).any() or (score > 1).any():
            raise ValidationError("scores must be probabilities in [0, 1]", field=score_column)
    names = sorted(groups.unique())
    rng = np.random.default_rng(seed)
    point_cells, boot_cells, score_means = [], [], []
    for name in names:
        mask = (groups == name).to_numpy()
        cells = _cells(pred[mask], label[mask], None if score is None else score[mask])
        point_cells.append(cells)
        boot_cells.append(rng.multinomial(int(cells.sum()), cells / cells.sum(), size=bootstrap))
        if score is not None:
            bins = np.clip((score[mask] * SCORE_BINS).astype(np.int64), 0, SCORE_BINS - 1)
            sums = np.bincount(bins, weights=score[mask], minlength=SCORE_BINS)
            counts = np.bincount(bins, minlength=SCORE_BINS)
            with np.errstate(divide="ignore", invalid="ignore"):
                score_means.append(np.where(counts > 0, sums / counts, 0.0))
    means = np.asarray(score_means) if score is not None else None
    point = _rates(np.asarray(point_cells), means)  # (G,)
    boot = _rates(np.stack(boot_cells, axis=1), means)  # (B, G)
    group_metrics = []
    for index, name in enumerate(names):
        cells = point_cells[index].reshape(2, 3, SCORE_BINS)
        metrics = {
            key: _interval(float(point[key][index]), boot[key][:, index], confidence)
            for key in point
        }
        group_metrics.append(
            GroupMetrics(
                group=name,
                count=int(cells.sum()),
                labelled=int(cells[:, :2, :].sum()),
                **metrics,
            )
        )
    report_notes = list(notes)
    sel, sel_boot = point["selection_rate"], boot["selection_rate"]
    if len(names) < 2:
        report_notes.append(f"only one group in {attribute!r}; gaps need two or more")
        empty = Interval(None)
        return FairnessReport(
            attribute, group_metrics, empty, empty, empty, {}, None, None, report_notes
        )
    # All-NaN slices (no labels in a group yet) are expected here and end up as None.
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dp_diff = float(np.nanmax(sel) - np.nanmin(sel))
        dp_diff_boot = np.nanmax(sel_boot, axis=1) - np.nanmin(sel_boot, axis=1)
        dp_ratio = float(np.nanmin(sel) / np.nanmax(sel)) if np.nanmax(sel) > 0 else math.nan
        dp_ratio_boot = np.nanmin(sel_boot, axis=1) / np.nanmax(sel_boot, axis=1)

        def spread(values: FloatArray, axis: int) -> FloatArray:
            return np.asarray(np.nanmax(values, axis=axis) - np.nanmin(values, axis=axis))

        eo = max(float(spread(point["tpr"], 0)), float(spread(point["fpr"], 0)))
        eo_boot = np.maximum(spread(boot["tpr"], 1), spread(boot["fpr"], 1))
    if np.isnan(point["tpr"]).all() or np.isnan(point["fpr"]).all():
        eo = math.nan
        report_notes.append("no labels yet: TPR, FPR and equalized odds are undefined")
    reference = reference_group or names[int(np.nanargmax(sel))]
    if reference not in names:
        raise ValidationError(f"no group {reference!r} in {attribute!r}", field="reference_group")
    ref_index = names.index(reference)
    impact: dict[str, Interval] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for index, name in enumerate(names):
            if index == ref_index:
                continue
            ratio = float(sel[index] / sel[ref_index]) if sel[ref_index] > 0 else math.nan
            impact[name] = _interval(ratio, sel_boot[:, index] / sel_boot[:, ref_index], confidence)
    ratios = [i.value for i in impact.values() if i.value is not None]
    passed = all(r >= FOUR_FIFTHS for r in ratios) if ratios else None
    return FairnessReport(
        attribute=attribute,
        groups=group_metrics,
        demographic_parity_difference=_interval(dp_diff, dp_diff_boot, confidence),
        demographic_parity_ratio=_interval(dp_ratio, dp_ratio_boot, confidence),
        equalized_odds_difference=_interval(eo, eo_boot, confidence),
        disparate_impact=impact,
        four_fifths_passed=passed,
        reference_group=reference,
        notes=report_notes,
    )


@dataclass(frozen=True)
class WindowPerformance:
    start: str
    count: int
    accuracy: float | None
    f1: float | None
    auc: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "count": self.count,
            "accuracy": self.accuracy,
            "f1": self.f1,
            "auc": self.auc,
        }


def _auc(label: FloatArray, score: FloatArray) -> float | None:
    positives, negatives = int((label == 1).sum()), int((label == 0).sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = pd.Series(score).rank(method="average").to_numpy()
    return float(
        (ranks[label == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


def performance_over_time(
    frame: pd.DataFrame,
    *,
    time_column: str = "time",
    window: str = "1D",
    prediction_column: str = "prediction",
    label_column: str = "label",
    score_column: str | None = None,
    positive: Any = 1,
) -> list[WindowPerformance]:
    """Accuracy, F1 and AUC per time window over the rows whose labels have arrived."""
    for column in (time_column, prediction_column, label_column):
        if column not in frame.columns:
            raise ValidationError("column not found", field=column)
    times = pd.to_datetime(frame[time_column], utc=True, errors="coerce")
    if times.isna().any():
        raise ValidationError("times must be ISO 8601 timestamps", field=time_column)
    try:
        offset = pd.tseries.frequencies.to_offset(window)
    except ValueError:
        raise ValidationError("use a pandas window such as 1h, 1D or 7D", field="window") from None
    pred = _binary(frame[prediction_column], positive, prediction_column).to_numpy()
    label = _binary(frame[label_column], positive, label_column).to_numpy()
    score = (
        pd.to_numeric(frame[score_column], errors="coerce").to_numpy(dtype=np.float64)
        if score_column
        else None
    )
    buckets = times.dt.floor(offset) if offset is not None else times
    results = []
    for start in sorted(buckets.unique()):
        mask = ((buckets == start).to_numpy()) & ~np.isnan(label)
        count = int(mask.sum())
        if count == 0:
            results.append(WindowPerformance(start.isoformat(), 0, None, None, None))
            continue
        p, y = pred[mask], label[mask]
        tp = float(((p == 1) & (y == 1)).sum())
        denominator = float((p == 1).sum() + (y == 1).sum())
        results.append(
            WindowPerformance(
                start=start.isoformat(),
                count=count,
                accuracy=float((p == y).mean()),
                f1=2 * tp / denominator if denominator else None,
                auc=_auc(y, score[mask]) if score is not None else None,
            )
        )
    return results

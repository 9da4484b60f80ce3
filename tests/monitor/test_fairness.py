"""Fairness: a biased model shows its gap with an interval; missing data is explicit."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from bastion.core.errors import ValidationError
from bastion.monitor import fairness_report, join_labels, performance_over_time


def _logs(n: int = 6000, bias: float = 0.5, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B"], n)
    label = rng.integers(0, 2, n)
    score = np.clip(0.7 * label + 0.15 + rng.normal(0, 0.1, n), 0, 1)
    # The biased model approves qualified members of group B only half the time.
    approve = (score > 0.5) & ~((group == "B") & (rng.random(n) < bias))
    predictions = pd.DataFrame(
        {
            "prediction_id": [f"p{i}" for i in range(n)],
            "group": group,
            "prediction": approve.astype(int),
            "score": score,
            "time": pd.date_range("2026-01-01", periods=n, freq="1min", tz="UTC").astype(str),
        }
    )
    labels = pd.DataFrame({"prediction_id": predictions["prediction_id"], "label": label})
    return predictions, labels


def test_biased_model_shows_its_gap_with_an_interval() -> None:
    predictions, labels = _logs(bias=0.5)
    report = fairness_report(
        join_labels(predictions, labels).frame, attribute="group", score_column="score"
    )
    dp = report.demographic_parity_difference
    assert dp.value is not None and dp.low is not None and dp.high is not None
    assert 0 < dp.low <= dp.value <= dp.high
    assert report.reference_group == "A"
    impact = report.disparate_impact["B"]
    assert impact.high is not None and impact.high < 0.8
    assert report.four_fifths_passed is False
    eo = report.equalized_odds_difference
    assert eo.low is not None and eo.low > 0.3
    by_group = {g.group: g for g in report.groups}
    assert by_group["A"].tpr.value is not None and by_group["B"].tpr.value is not None
    assert by_group["A"].tpr.value > by_group["B"].tpr.value + 0.3
    assert json.dumps(report.to_dict(), allow_nan=False)


def test_fair_model_passes_the_four_fifths_rule() -> None:
    predictions, labels = _logs(bias=0.0, seed=1)
    report = fairness_report(join_labels(predictions, labels).frame, attribute="group")
    assert report.four_fifths_passed is True
    dp = report.demographic_parity_difference
    assert dp.low is not None and dp.low <= 0.05


def test_labels_for_unknown_predictions_are_reported_not_fatal() -> None:
    predictions, labels = _logs(n=200)
    late = pd.concat(
        [labels, pd.DataFrame({"prediction_id": ["ghost-1", "ghost-2", "p3"], "label": [1, 0, 1]})]
    )
    joined = join_labels(predictions, late)
    assert joined.unknown_label_ids == ["ghost-1", "ghost-2"]
    assert joined.duplicate_labels == 1
    assert len(joined.frame) == 200 and joined.labelled == 200
    assert any("ghost-1" in note for note in joined.notes)


def test_before_labels_arrive_rates_are_none_not_nan() -> None:
    predictions, _ = _logs(n=300)
    report = fairness_report(join_labels(predictions, None).frame, attribute="group")
    assert all(g.tpr.value is None and g.labelled == 0 for g in report.groups)
    assert report.equalized_odds_difference.value is None
    assert report.demographic_parity_difference.value is not None
    assert any("no labels" in note for note in report.notes)
    text = json.dumps(report.to_dict(), allow_nan=False)
    assert "NaN" not in text


def test_single_group_and_missing_attribute_values() -> None:
    predictions, labels = _logs(n=100)
    predictions["group"] = "A"
    predictions.loc[:9, "group"] = None
    report = fairness_report(join_labels(predictions, labels).frame, attribute="group")
    assert {g.group for g in report.groups} == {"A", "(missing)"}
    single = fairness_report(
        join_labels(predictions.assign(group="A"), labels).frame, attribute="group"
    )
    assert single.four_fifths_passed is None and single.notes


def test_bad_input_names_the_field() -> None:
    predictions, labels = _logs(n=50)
    with pytest.raises(ValidationError, match="sex"):
        fairness_report(predictions, attribute="sex")
    with pytest.raises(ValidationError, match="prediction_id"):
        join_labels(predictions.drop(columns=["prediction_id"]), labels)
    with pytest.raises(ValidationError, match="score"):
        fairness_report(predictions.assign(score=5.0), attribute="group", score_column="score")


def test_performance_over_time_windows() -> None:
    predictions, labels = _logs(n=3 * 1440, bias=0.0)
    labels = labels.iloc[: 2 * 1440]  # the last day's labels have not arrived yet
    joined = join_labels(predictions, labels).frame
    windows = performance_over_time(joined, window="1D", score_column="score")
    assert [w.count for w in windows] == [1440, 1440, 0]
    assert windows[0].accuracy is not None and windows[0].accuracy > 0.9
    assert windows[0].auc is not None and windows[0].auc > 0.95
    assert windows[0].f1 is not None and 0 < windows[0].f1 <= 1
    assert windows[2].accuracy is None and windows[2].auc is None
    with pytest.raises(ValidationError, match="window"):
        performance_over_time(joined, window="fortnight")
    assert all(v is None or math.isfinite(v) for w in windows for v in (w.accuracy, w.f1, w.auc))

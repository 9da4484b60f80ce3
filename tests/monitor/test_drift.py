"""Drift: the injected feature is flagged and only it; bad input has defined answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.core.errors import NotFoundError, ValidationError
from bastion.monitor import KllSketch, Moments, Profile, drift, profile_reference, summarize_window
from bastion.monitor.drift import compare, jensen_shannon, psi


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": rng.normal(50, 12, n),
            "income": rng.lognormal(10, 0.5, n),
            "visits": rng.poisson(3, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
            "region": rng.choice(list("NESW"), n),
            "note": [
                " ".join(rng.choice(["patient", "reports", "mild", "pain", "since", "monday"], 6))
                for _ in range(n)
            ],
        }
    )


def _all_finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    return True


@pytest.mark.parametrize("column", ["age", "plan"])
@pytest.mark.parametrize("n", [600, 20_000])
def test_injected_drift_is_flagged_on_that_feature_only(column: str, n: int) -> None:
    # A fixed seed: at alpha 0.05 an unlucky sample can fail any test by chance.
    rng = np.random.default_rng(8)
    reference, current = _frame(rng, n), _frame(rng, n)
    if column == "age":
        current["age"] = current["age"] + 9
    else:
        current["plan"] = rng.choice(["basic", "plus", "pro"], n, p=[0.3, 0.3, 0.4])
    report, _, _ = drift(reference, current)
    assert report.drifted == [column]
    expected = (
        {"age": "ks", "plan": "chi2"}
        if n <= 1000
        else {"age": "wasserstein", "plan": "jensenshannon"}
    )
    methods = {f.feature: f.method for f in report.features}
    assert methods[column] == expected[column]
    assert _all_finite(report.to_dict())


@pytest.mark.parametrize("method", ["psi", "ks", "chi2", "jensenshannon", "wasserstein"])
def test_every_method_flags_the_shift_and_passes_the_control(method: str) -> None:
    rng = np.random.default_rng(11)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 5000)})
    same = pd.DataFrame({"x": rng.normal(0, 1, 5000)})
    shifted = pd.DataFrame({"x": rng.normal(0.6, 1, 5000)})
    profile = profile_reference(reference)
    assert drift(profile, shifted, method=method)[0].drifted == ["x"]
    assert drift(profile, same, method=method)[0].drifted == []


def test_data_driven_thresholds_come_from_reference_chunks() -> None:
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 20_000)})
    report, _, _ = drift(reference, pd.DataFrame({"x": rng.normal(0, 1, 2_000)}), data_driven=True)
    feature = report.features[0]
    assert feature.message == "threshold from reference chunks"
    assert feature.drifted is False and feature.threshold is not None and feature.threshold > 0
    shifted = drift(reference, pd.DataFrame({"x": rng.normal(1, 1, 2_000)}), data_driven=True)[0]
    assert shifted.drifted == ["x"]


def test_profile_round_trips_through_json_and_streaming_is_chunk_invariant(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    reference, current = _frame(rng, 4000), _frame(rng, 3000)
    current["income"] *= 1.8
    ref_csv, cur_csv = tmp_path / "ref.csv", tmp_path / "cur.csv"
    reference.to_csv(ref_csv, index=False)
    current.to_csv(cur_csv, index=False)
    current.to_parquet(tmp_path / "cur.parquet", row_group_size=500)
    profile = profile_reference(ref_csv, chunk_rows=700)
    profile.save(tmp_path / "ref.json")
    loaded = Profile.load(tmp_path / "ref.json")
    assert loaded.to_dict() == json.loads((tmp_path / "ref.json").read_text())
    assert loaded.columns["note"] == "text" and "note:vocabulary" in loaded.features
    whole = compare(loaded, summarize_window(loaded, current))
    for source, chunk in ((cur_csv, 333), (tmp_path / "cur.parquet", 10_000)):
        streamed = compare(loaded, summarize_window(loaded, source, chunk_rows=chunk))
        assert streamed.to_dict() == whole.to_dict()
    assert whole.drifted == ["income"]


def test_columns_that_differ_are_reported_not_fatal() -> None:
    rng = np.random.default_rng(1)
    reference = _frame(rng, 500)
    current = reference.drop(columns=["region"]).assign(extra=1)
    report, _, _ = drift(reference, current)
    assert report.missing_columns == ["region"]
    assert report.unexpected_columns == ["extra"]
    assert "region" not in {f.column for f in report.features}
    assert any("extra" in note for note in report.problems)


def test_empty_window_all_null_columns_and_new_categories() -> None:
    rng = np.random.default_rng(4)
    reference = pd.DataFrame(
        {"a": rng.normal(size=300), "dead": [None] * 300, "c": rng.choice(["x", "y"], 300)}
    )
    empty = drift(reference, reference.iloc[:0])[0]
    assert {f.status for f in empty.features} == {"empty-window", "all-null-reference"}
    assert all(f.drifted is None and f.statistic is None for f in empty.features)

    current = reference.copy()
    current["a"] = np.nan
    current.loc[:20, "c"] = "brand-new"
    report = drift(reference, current)[0]
    by_name = {f.feature: f for f in report.features}
    assert by_name["a"].status == "all-null-current" and by_name["a"].drifted is None
    assert by_name["dead"].status == "all-null-reference"
    assert by_name["c"].new_categories == ["brand-new"]
    assert by_name["c"].drifted is True
    assert _all_finite(report.to_dict())
    assert json.dumps(report.to_dict(), allow_nan=False)


def test_bad_files_and_profiles_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no rows"):
        profile_reference(pd.DataFrame({"a": []}))
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something-else"}')
    with pytest.raises(ValidationError, match=r"bad\.json"):
        Profile.load(bad)
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(ValidationError, match="unsupported format"):
        drift(pd.DataFrame({"a": [1.0, 2.0]}), tmp_path / "x.xlsx")
    with pytest.raises(NotFoundError, match="not found"):
        drift(pd.DataFrame({"a": [1.0, 2.0]}), tmp_path / "missing.csv")
    garbled = tmp_path / "garbled.parquet"
    garbled.write_bytes(b"not parquet at all")
    with pytest.raises(ValidationError, match=r"garbled\.parquet"):
        drift(pd.DataFrame({"a": [1.0, 2.0]}), garbled)
    with pytest.raises(ValidationError, match="unknown method"):
        drift(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), pd.DataFrame({"a": [1.0]}), method="t-test")


def test_text_drift_in_length_and_vocabulary() -> None:
    rng = np.random.default_rng(9)
    words = ["refund", "order", "late", "thanks", "help", "package", "delivery", "account"]

    def make(vocab, k):
        return [" ".join(rng.choice(vocab, k)) + " please help me" for _ in range(2000)]

    reference = pd.DataFrame({"msg": make(words, 6)})
    current = pd.DataFrame(
        {"msg": make(["ignore", "previous", "instructions", "system", "prompt"], 14)}
    )
    report = drift(reference, current)[0]
    assert set(report.drifted) == {"msg:length", "msg:words", "msg:vocabulary"}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=3000),
    st.integers(1, 5),
)
def test_kll_sketch_quantiles_are_close_and_merge(values: list[float], parts: int) -> None:
    data = np.asarray(values)
    merged = KllSketch(k=128)
    for piece in np.array_split(data, parts):
        sketch = KllSketch(k=128)
        sketch.update(piece)
        merged.merge(sketch)
    assert merged.count == data.size
    _items, weights = merged.weighted()
    assert weights.sum() == data.size  # compaction keeps the total weight exact
    ordered = np.sort(data)
    for q in (0.1, 0.5, 0.9):
        estimate = merged.quantiles(np.asarray([q]))[0]
        low = np.searchsorted(ordered, estimate, side="left") / data.size
        high = np.searchsorted(ordered, estimate, side="right") / data.size
        assert low - 0.08 <= q <= high + 0.08


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=200), st.integers(1, 199)
)
def test_moments_merge_equals_whole(values: list[float], cut: int) -> None:
    data = np.asarray(values)
    cut = min(cut, data.size - 1)
    left, right = Moments(), Moments()
    left.update(data[:cut])
    right.update(data[cut:])
    left.merge(right)
    assert left.count == data.size
    assert math.isclose(left.mean, float(data.mean()), rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(left.std, float(data.std()), rel_tol=1e-6, abs_tol=1e-4)


@given(
    st.lists(st.integers(0, 1000), min_size=2, max_size=30),
    st.lists(st.integers(0, 1000), min_size=2, max_size=30),
)
def test_distances_are_finite_and_zero_on_identity(a: list[int], b: list[int]) -> None:
    size = min(len(a), len(b))
    p = np.asarray(a[:size], dtype=float) + 1
    q = np.asarray(b[:size], dtype=float) + 1
    assert psi(p, p) == pytest.approx(0.0, abs=1e-12)
    assert jensen_shannon(p, p) == pytest.approx(0.0, abs=1e-6)
    assert math.isfinite(psi(p, q)) and psi(p, q) >= -1e-12
    assert 0.0 <= jensen_shannon(p, q) <= 1.0


def test_parquet_is_read_in_bounded_chunks(tmp_path: Path) -> None:
    from bastion.monitor.io import iter_chunks

    frame = pd.DataFrame({"x": np.arange(5000, dtype=float)})
    frame.to_parquet(tmp_path / "big.parquet", row_group_size=2000)
    sizes = [len(chunk) for chunk in iter_chunks(tmp_path / "big.parquet", chunk_rows=300)]
    assert max(sizes) <= 300 and sum(sizes) == 5000
    empty = tmp_path / "empty.parquet"
    frame.iloc[:0].to_parquet(empty)
    assert [len(c) for c in iter_chunks(empty)] == [0]


def test_id_like_columns_stay_bounded_and_counts_stay_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bastion.monitor import profile as profile_module

    monkeypatch.setattr(profile_module, "PASS_ONE_CATEGORIES", 400)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"id": [f"u{i}" for i in range(3000)], "tier": rng.choice(["gold", "free"], 3000)}
    )
    result = profile_reference(frame.assign(id=frame["id"].astype("string")), chunk_rows=500)
    ids = result.features["id"].categories
    assert len(ids) <= profile_module.MAX_CATEGORIES + 1 and sum(ids.values()) == 3000
    tiers = result.features["tier"].categories
    assert tiers == frame["tier"].value_counts().to_dict()


def test_profiles_on_the_same_bins_merge_into_the_profile_of_both() -> None:
    rng = np.random.default_rng(12)
    monday, tuesday = _frame(rng, 3000), _frame(rng, 2000)
    first = profile_reference(monday)
    second = profile_reference(tuesday, like=first)
    merged = first.merge(second)
    both = pd.concat([monday, tuesday], ignore_index=True)
    assert merged.rows == 5000
    age = merged.features["age"]
    assert sum(age.counts) == 5000 and age.edges == first.features["age"].edges
    assert age.moments.mean == pytest.approx(float(both["age"].mean()))
    assert merged.features["plan"].categories == both["plan"].value_counts().to_dict()
    assert len(age.chunk_counts) == len(first.features["age"].chunk_counts) * 2
    assert Profile.from_dict(merged.to_dict()).to_dict() == merged.to_dict()
    with pytest.raises(ValidationError, match="like="):
        first.merge(profile_reference(tuesday))
    with pytest.raises(ValidationError, match="different columns"):
        first.merge(profile_reference(tuesday.drop(columns=["note"])))

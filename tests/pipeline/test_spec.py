"""Dataset specs: strict validation with file, line and field in every error."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.core.errors import ValidationError
from bastion.pipeline import load_spec
from bastion.pipeline.demo import DEMO_DATASET, DEMO_MODEL, SPEC_TEMPLATE

VALID = SPEC_TEMPLATE.format(dataset=DEMO_DATASET, data_file="patients.csv", model=DEMO_MODEL)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_demo_spec_is_valid(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, VALID))
    assert spec.name == "clinical/patients"
    assert spec.label == "diagnosis"
    assert spec.training is not None and spec.training.model_name == "diagnosis-classifier"
    training = spec.purpose("training")
    assert "name" not in training.read_columns  # dropped columns are not even read
    assert training.transforms["age"].label == "generalize:age_band"
    assert spec.source_path == tmp_path / "patients.csv"


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "words"),
    [
        (
            "age: {generalize: age_band}",
            "age: {scramble: yes}",
            "scramble",
            "age",
            "unknown transform",
        ),
        ("age: {generalize: age_band}", "age: {generalize: decade}", "decade", "age", "generalize"),
        (
            "estimator: sklearn.linear_model.LogisticRegression",
            "estimator: os.system",
            "os.system",
            "training.estimator",
            "allow-list",
        ),
        (
            "{max_iter: 1000, C: 1.0}",
            "{max_iter: 1000, bogus: 1}",
            "bogus",
            "params.bogus",
            "no parameter",
        ),
        ("      name: drop", "      name: keep", "name: keep", "name", "direct identifier"),
        ("      ssn: drop", "      shoe_size: drop", "shoe_size", "shoe_size", "not declared"),
        ("test_size: 0.25", "test_size: 1.5", "test_size", "test_size", "between 0 and 1"),
        ("dtype: float}", "dtype: decimal}", "decimal", "dtype", "not one of"),
    ],
)
def test_errors_name_file_line_and_field(
    tmp_path: Path, old: str, new: str, needle: str, field: str, words: str
) -> None:
    text = VALID.replace(old, new, 1)
    assert text != VALID
    path = _write(tmp_path, text)
    with pytest.raises(ValidationError) as caught:
        load_spec(path)
    error = caught.value
    assert error.file == str(path)
    assert error.line == _line_of(text, needle)
    assert error.field is not None and error.field.endswith(field)
    assert words in str(error)
    assert "\n" not in str(error)


def test_unknown_top_level_key_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown key"):
        load_spec(_write(tmp_path, VALID + "surprise: 1\n"))
    with pytest.raises(ValidationError) as caught:
        load_spec(_write(tmp_path, "name: x\ncolumns: [unclosed\n"))
    assert caught.value.line is not None


def test_unknown_purpose_lists_declared(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, VALID))
    with pytest.raises(ValidationError, match="analytics, support, training"):
        spec.purpose("marketing")


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_arbitrary_text_gives_validation_error_or_spec(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    try:
        load_spec(path)
    except ValidationError as exc:
        assert exc.file == str(path)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.integers(min_value=0, max_value=len(VALID) - 1), st.sampled_from(["", "x", ":", "- ", "{"])
)
def test_mutated_spec_never_crashes(tmp_path: Path, position: int, insert: str) -> None:
    text = VALID[:position] + insert + VALID[position + 1 :]
    with contextlib.suppress(ValidationError):
        load_spec(_write(tmp_path, text))

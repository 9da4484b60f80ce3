from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from bastion.core.errors import ValidationError
from bastion.privacy.tabular import (
    ColumnKind,
    TablePolicyTransformer,
    apply_table_policy,
    classify_columns,
    kind_from_name,
    load_table_policy,
    parse_table_policy,
    suggest_table_policy,
)
from tests.privacy.transform.helpers import FakeEngine

KEY = bytes(range(32))

POLICY = """\
default: drop
person_column: patient_id
columns:
  patient_id: {action: pseudonymize, length: 12}
  ssn: {action: mask, keep_last: 4}
  age: age_band
  zip: zip3
  admitted: year
  notes: text
  label: keep
text_policy:
  default: replace
  entities:
    DATE_TIME: date_shift
"""


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["P1", "P2"],
            "name": ["Ann Lee", "Bob Ray"],
            "ssn": ["123-45-6789", "987-65-4321"],
            "age": [42, 95],
            "zip": ["02139", "10001"],
            "admitted": ["2023-04-05", "2022-01-02"],
            "notes": ["Dr. Ann Lee saw her 2023-04-05.", "Mail bob@ray.com on 2022-01-02."],
            "label": [1, 0],
        }
    )


def test_table_policy_applies_every_action(frame: pd.DataFrame) -> None:
    policy = parse_table_policy(POLICY)
    out = apply_table_policy(frame, policy, key=KEY, engine=FakeEngine())
    assert list(out.columns) == ["patient_id", "ssn", "age", "zip", "admitted", "notes", "label"]
    assert out["ssn"].tolist() == ["*******6789", "*******4321"]
    assert out["age"].tolist() == ["40-49", "90+"]
    assert out["zip"].tolist() == ["021", "100"]
    assert out["admitted"].tolist() == ["2023", "2022"]
    assert all(len(v) == 12 for v in out["patient_id"])
    assert out["notes"][0].startswith("Dr. <PERSON_1> saw her ")
    assert "2023-04-05" not in out["notes"][0] and "bob@ray.com" not in out["notes"][1]
    text = out.to_csv()
    for raw in ("Ann Lee", "Bob Ray", "123-45-6789", "P1", "bob@ray.com"):
        assert raw not in text


def test_table_policy_transformer_in_pipeline(frame: pd.DataFrame) -> None:
    step = TablePolicyTransformer(parse_table_policy(POLICY), key=KEY, engine=FakeEngine())
    pipeline = Pipeline([("privacy", step)])
    out = pipeline.fit_transform(frame)
    assert list(pipeline.get_feature_names_out()) == list(out.columns)
    assert "***" in repr(pipeline)


def test_table_policy_errors(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "table.yaml"
    path.write_text("columns:\n  age: age_bnd\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_table_policy(path)
    assert (caught.value.line, caught.value.field) == (2, "columns.age.action")
    path.write_text("columns:\n  age:\n    action: age_band\n    widht: 5\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_table_policy(path)
    assert (caught.value.line, caught.value.field) == (4, "columns.age.widht")
    path.write_text("columns: {}\ntext_policy:\n  entities:\n    NOPE: redact\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_table_policy(path)
    assert caught.value.line == 4
    with pytest.raises(ValidationError) as caught:
        apply_table_policy(frame, parse_table_policy("columns: {missing: drop}"))
    assert caught.value.field == "missing"


def test_classification_by_name_and_content() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3", "P4"],
            "contact": ["a@x.com", "b@y.org", "c@z.net", "d@w.io"],
            "zip_code": ["02139", "10001", "94105", "60601"],
            "visit_reason": [
                "Dr. Ann Lee saw the patient today for a cough and fever.",
                "Patient called 555-123-4567 to reschedule the follow-up visit.",
                "Mr. Bob Ray reports mild pain after the procedure last week.",
                "No complaints; continue the current medication as prescribed.",
            ],
            "diagnosis_code": ["J10", "E11", "I10", "J45"],
            "score": [0.1, 0.5, 0.3, 0.9],
        }
    )
    reports = {r.name: r for r in classify_columns(frame, FakeEngine())}
    assert reports["patient_id"].kind == ColumnKind.DIRECT_IDENTIFIER
    assert reports["contact"].kind == ColumnKind.DIRECT_IDENTIFIER  # from content
    assert reports["contact"].entity_counts == {"EMAIL_ADDRESS": 4}
    assert reports["zip_code"].kind == ColumnKind.QUASI_IDENTIFIER
    assert reports["visit_reason"].kind == ColumnKind.FREE_TEXT
    assert reports["diagnosis_code"].kind == ColumnKind.SENSITIVE
    assert reports["score"].kind == ColumnKind.FEATURE
    for report in reports.values():
        assert "a@x.com" not in repr(report) and "Ann" not in repr(report)
    policy = suggest_table_policy(list(reports.values()))
    assert policy.action_for("patient_id").action == "pseudonymize"
    assert policy.action_for("contact").action == "drop"
    assert policy.action_for("zip_code").action == "zip3"
    assert policy.action_for("visit_reason").action == "text"
    assert policy.action_for("unlisted").action == "drop"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("patientEmail", ColumnKind.DIRECT_IDENTIFIER),
        ("FirstName", ColumnKind.DIRECT_IDENTIFIER),
        ("member_id", ColumnKind.DIRECT_IDENTIFIER),
        ("clinical_notes", ColumnKind.FREE_TEXT),
        ("date_of_birth", ColumnKind.QUASI_IDENTIFIER),
        ("icd10", None),
        ("hiv_status", ColumnKind.SENSITIVE),
        ("weight_kg", None),
    ],
)
def test_kind_from_name(name: str, kind: ColumnKind | None) -> None:
    found = kind_from_name(name)
    assert (found[0] if found else None) == kind

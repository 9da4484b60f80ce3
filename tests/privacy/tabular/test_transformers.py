from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from bastion.core.errors import SecretError, ValidationError
from bastion.privacy.detect.span import Span
from bastion.privacy.tabular import (
    AgeBander,
    AgeTopCoder,
    DateGeneralizer,
    DropColumns,
    HmacPseudonymizer,
    Masker,
    TextDeidentifier,
    ZipTruncator,
)
from bastion.privacy.transform import anonymize, parse_policy
from tests.privacy.transform.helpers import FakeEngine

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


@pytest.fixture
def patients() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P1", "P3"],
            "name": ["Ann Lee", "Bob Ray", "Ann Lee", "Cy Oz"],
            "ssn": ["123-45-6789", "987-65-4321", None, "111-22-3333"],
            "age": [42, 93, 42, 7],
            "zip": ["02139", "03601", "02139", 90210],
            "admitted": ["2023-04-05", "04/06/2023", "bad", None],
            "notes": [
                "Dr. Ann Lee called 555-123-4567.",
                "Mr. Bob Ray, SSN 987-65-4321, seen 2023-04-06 by Dr. Ann Lee.",
                None,
                "No identifiers here.",
            ],
            "label": [1, 0, 1, 0],
        }
    )


def test_generalizers(patients: pd.DataFrame) -> None:
    out = AgeBander(columns=["age"]).fit_transform(patients)
    assert out["age"].tolist() == ["40-49", "90+", "40-49", "0-9"]
    assert AgeTopCoder(columns=["age"]).fit_transform(patients)["age"].tolist() == [
        "42",
        "90+",
        "42",
        "7",
    ]
    assert ZipTruncator(columns=["zip"]).fit_transform(patients)["zip"].tolist() == [
        "021",
        "000",  # 036 is one of Safe Harbor's restricted prefixes
        "021",
        "902",
    ]
    years = DateGeneralizer(columns=["admitted"]).fit_transform(patients)["admitted"].tolist()
    assert years == ["2023", "2023", None, None]  # unparseable never passes through


def test_masker_and_drop(patients: pd.DataFrame) -> None:
    out = Masker(columns=["ssn"], keep_last=4).fit_transform(patients)
    assert out["ssn"].tolist() == ["*******6789", "*******4321", None, "*******3333"]
    dropper = DropColumns(columns=["name", "ssn"]).fit(patients)
    assert "name" not in dropper.transform(patients).columns
    assert list(dropper.get_feature_names_out()) == [
        "patient_id",
        "age",
        "zip",
        "admitted",
        "notes",
        "label",
    ]


def test_pseudonyms_stable_under_key_unlinkable_across_keys(patients: pd.DataFrame) -> None:
    first = HmacPseudonymizer(key=KEY, columns=["patient_id"]).fit_transform(patients)
    again = HmacPseudonymizer(key=KEY, columns=["patient_id"]).fit_transform(patients)
    other = HmacPseudonymizer(key=OTHER_KEY, columns=["patient_id"]).fit_transform(patients)
    ids = first["patient_id"].tolist()
    assert ids == again["patient_id"].tolist()
    assert ids[0] == ids[2] and len(set(ids)) == 3
    assert set(ids).isdisjoint(other["patient_id"].tolist())
    assert not {"P1", "P2", "P3"} & set(ids)


def test_column_and_text_pseudonyms_link_up() -> None:
    frame = pd.DataFrame({"email": ["ann@example.com"]})
    column = HmacPseudonymizer(key=KEY, columns=["email"], entity_type="EMAIL_ADDRESS")
    digest = column.fit_transform(frame)["email"].iloc[0]
    text = anonymize(
        "ann@example.com",
        [Span(0, 15, "EMAIL_ADDRESS", 1)],
        parse_policy("default: {operator: pseudonymize, template: '{digest}'}"),
        key=KEY,
    ).text
    assert digest == text


def test_key_is_hidden_and_never_pickled(patients: pd.DataFrame) -> None:
    step = HmacPseudonymizer(key=KEY, columns=["patient_id"])
    pipeline = Pipeline([("ids", step)])
    assert KEY.hex() not in repr(pipeline) and str(KEY) not in repr(pipeline)
    assert "***" in repr(pipeline)
    cloned = clone(step)
    assert cloned.fit_transform(patients).equals(step.fit_transform(patients))
    restored = pickle.loads(pickle.dumps(step.fit(patients)))
    assert KEY not in pickle.dumps(step)
    assert restored.key is None
    with pytest.raises(SecretError, match="set_params"):
        restored.transform(patients)
    restored.set_params(key=KEY)
    assert restored.transform(patients).equals(step.transform(patients))
    with pytest.raises(SecretError):
        HmacPseudonymizer(key=None, columns=["patient_id"]).fit(patients)
    with pytest.raises(SecretError):
        HmacPseudonymizer(key=b"short", columns=["patient_id"]).fit(patients)


def test_fitted_state_holds_no_raw_values(patients: pd.DataFrame) -> None:
    steps = [
        HmacPseudonymizer(key=KEY, columns=["patient_id", "name"]),
        Masker(columns=["ssn"]),
        AgeBander(columns=["age"]),
        ZipTruncator(columns=["zip"]),
        DateGeneralizer(columns=["admitted"]),
    ]
    for step in steps:
        blob = pickle.dumps(step.fit(patients))
        for raw in ("Ann Lee", "123-45-6789", "02139", "2023-04-05", "P1"):
            assert raw.encode() not in blob


def test_text_deidentifier(patients: pd.DataFrame) -> None:
    step = TextDeidentifier(
        columns=["notes"],
        policy=parse_policy("default: replace"),
        engine=FakeEngine(),
    )
    notes = step.fit_transform(patients)["notes"].tolist()
    assert notes[0] == "Dr. <PERSON_1> called <PHONE_NUMBER_1>."
    assert notes[1] == ("Mr. <PERSON_1>, SSN <US_SSN_1>, seen <DATE_TIME_1> by Dr. <PERSON_2>.")
    assert notes[2] is None and notes[3] == "No identifiers here."


def test_full_sklearn_pipeline_trains(patients: pd.DataFrame) -> None:
    privacy = Pipeline(
        [
            ("drop", DropColumns(columns=["name", "ssn", "notes", "admitted"])),
            ("ids", HmacPseudonymizer(key=KEY, columns=["patient_id"])),
            ("age", AgeBander(columns=["age"])),
            ("zip", ZipTruncator(columns=["zip"])),
        ]
    )
    features = patients.drop(columns=["label"])
    model = Pipeline(
        [
            ("privacy", privacy),
            (
                "encode",
                ColumnTransformer(
                    [("cat", OneHotEncoder(handle_unknown="ignore"), ["age", "zip"])]
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    )
    model.fit(features, patients["label"])
    assert model.predict(features).shape == (4,)
    assert list(privacy.get_feature_names_out()) == ["patient_id", "age", "zip"]


def test_missing_columns_and_bad_parameters(patients: pd.DataFrame) -> None:
    with pytest.raises(ValidationError) as caught:
        Masker(columns=["nope"]).fit(patients)
    assert caught.value.field == "nope"
    with pytest.raises(ValidationError):
        Masker(columns=[]).fit(patients)
    with pytest.raises(ValidationError):
        Masker(columns="ssn").fit(patients)
    fitted = Masker(columns=["ssn"]).fit(patients)
    with pytest.raises(ValidationError):
        fitted.transform(patients.drop(columns=["ssn"]))


def test_numpy_input_uses_fitted_names(patients: pd.DataFrame) -> None:
    step = AgeBander(columns=["age"]).fit(patients)
    out = step.transform(patients.to_numpy())
    assert out["age"].tolist() == ["40-49", "90+", "40-49", "0-9"]
    assert isinstance(step.get_feature_names_out(), np.ndarray)

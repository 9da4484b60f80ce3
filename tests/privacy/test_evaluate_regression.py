"""F-score floors on the fixed corpus (generated from the *holdout* template split)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.privacy.detect import default_engine
from bastion.privacy.evaluate import Report, evaluate, load_corpus

CORPUS = Path(__file__).parent / "data" / "regression.jsonl"
FLOORS = {
    "PERSON": 0.93,
    "LOCATION": 0.9,
    "DATE_TIME": 0.95,
    "EMAIL_ADDRESS": 0.98,
    "PHONE_NUMBER": 0.93,
    "STREET_ADDRESS": 0.85,
    "ORGANIZATION": 0.65,
    "AGE": 0.95,
    "IBAN_CODE": 0.95,
    "URL": 0.95,
    "MAC_ADDRESS": 0.95,
}


@pytest.fixture(scope="module")
def report() -> Report:
    return evaluate(load_corpus(CORPUS), default_engine().analyze)


def test_overall_floor(report: Report) -> None:
    assert report.overall.f2 >= 0.95
    assert report.overall_exact.f2 >= 0.92


@pytest.mark.parametrize(("entity", "floor"), sorted(FLOORS.items()))
def test_per_entity_floor(report: Report, entity: str, floor: float) -> None:
    assert report.overlap[entity].f2 >= floor

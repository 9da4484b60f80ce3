"""Scorer arithmetic, corpus validation, and generator determinism."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.core.errors import ValidationError
from bastion.privacy.corpus import generate
from bastion.privacy.detect import Span
from bastion.privacy.evaluate import GoldSpan, LabelledDoc, evaluate, iou, load_corpus


def test_iou_and_scores() -> None:
    assert iou(0, 10, 5, 15) == pytest.approx(5 / 15)
    assert iou(0, 5, 5, 10) == 0.0
    doc = LabelledDoc("x" * 40, (GoldSpan(0, 10, "PERSON"), GoldSpan(20, 30, "EMAIL_ADDRESS")))
    report = evaluate([doc], lambda _t: [Span(0, 8, "PERSON", 1.0), Span(32, 35, "URL", 1.0)])
    assert report.overlap["PERSON"].tp == 1  # IoU 0.8
    assert report.exact["PERSON"].tp == 0 and report.exact["PERSON"].fn == 1
    assert report.overlap["EMAIL_ADDRESS"].fn == 1 and report.overlap["URL"].fp == 1
    overall = report.overall
    assert (overall.tp, overall.fp, overall.fn) == (1, 1, 1)
    assert overall.f2 == pytest.approx(0.5)
    assert [m.type for m in report.missed] == ["EMAIL_ADDRESS"]


def test_type_confusion_is_reported() -> None:
    doc = LabelledDoc("Jordan went", (GoldSpan(0, 6, "PERSON"),))
    report = evaluate([doc], lambda _t: [Span(0, 6, "LOCATION", 1.0)])
    assert report.confusions[("PERSON", "LOCATION")] == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "abc", "spans": [{"start": 2, "end": 9, "type": "X"}]}', "offsets"),
        ('{"spans": []}', "text"),
        ("not json", "invalid JSON"),
    ],
)
def test_corpus_errors_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "fine", "spans": []}\n' + line + "\n")
    with pytest.raises(ValidationError, match=message) as info:
        load_corpus(path)
    assert info.value.line == 2


def test_generator_is_deterministic_and_spans_are_exact() -> None:
    first = [d.to_json() for d in generate(30, seed=5, split="holdout")]
    assert first == [d.to_json() for d in generate(30, seed=5, split="holdout")]
    for doc in generate(30, seed=5):
        for span in doc.spans:
            value = doc.text[span["start"] : span["end"]]  # type: ignore[misc]
            assert value and value == value.strip()

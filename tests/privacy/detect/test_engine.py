"""Engine policy: thresholds, allow/deny lists, entity filters, overlap cover, chunking."""

from __future__ import annotations

import pytest

from bastion.core.errors import ValidationError
from bastion.privacy.detect import Engine, EngineConfig, Span, build_engine, default_engine, resolve


def test_contract_surface() -> None:
    engine = default_engine()
    assert isinstance(engine, Engine)
    assert default_engine() is engine  # cached
    assert {"PERSON", "US_SSN", "FAX_NUMBER", "DATE_OF_BIRTH", "PHOTO"} <= engine.supported_entities


def test_entity_filter_and_unknown_entity() -> None:
    text = "John Smith, john@example.com"
    spans = default_engine().analyze(text, ["EMAIL_ADDRESS"])
    assert [s.entity_type for s in spans] == ["EMAIL_ADDRESS"]
    with pytest.raises(ValidationError, match="NOT_A_TYPE"):
        default_engine().analyze(text, ["NOT_A_TYPE"])


def test_threshold_allow_and_deny_lists() -> None:
    strict = build_engine(EngineConfig(thresholds={"EMAIL_ADDRESS": 1.0}))
    assert strict.analyze("mail ops@example.com") == []
    allow = build_engine(EngineConfig(allow_list=["ops@example.com"]))
    assert allow.analyze("mail ops@example.com now") == []
    deny = build_engine(EngineConfig(deny_list={"PERSON": ["Zorblax"]}))
    spans = deny.analyze("ask zorblax about it")
    assert [(s.start, s.end, s.entity_type) for s in spans] == [(4, 11, "PERSON")]
    with pytest.raises(ValidationError):
        build_engine(EngineConfig(thresholds={"PERSON": 1.5}))


def test_resolve_covers_every_detected_character_once() -> None:
    spans = [
        Span(0, 10, "PERSON", 0.6),
        Span(5, 20, "LOCATION", 0.9),
        Span(18, 30, "URL", 0.7),
        Span(40, 45, "AGE", 0.5),
        Span(41, 43, "ZIP_CODE", 0.99),
    ]
    out = resolve(spans)
    covered = [i for s in out for i in range(s.start, s.end)]
    expected = sorted({i for s in spans for i in range(s.start, s.end)})
    assert covered == expected  # sorted, non-overlapping, nothing dropped


def test_long_text_is_chunked_with_correct_offsets() -> None:
    engine = build_engine(EngineConfig(chunk_size=1000))
    filler = "lorem ipsum dolor " * 200
    text = filler + "write to x.y@example.com " + filler + "or a.b@example.org"
    spans = engine.analyze(text, ["EMAIL_ADDRESS"])
    assert [text[s.start : s.end] for s in spans] == ["x.y@example.com", "a.b@example.org"]


def test_empty_and_whitespace() -> None:
    assert default_engine().analyze("") == []
    assert default_engine().analyze(" \n\t ") == []

"""Custom YAML recognizers (with located errors) and optional NER backends."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bastion.core.errors import ConfigError, ValidationError
from bastion.privacy.detect import EngineConfig, build_engine, load_custom_recognizers

GOOD = """\
entities: [EMPLOYEE_ID]
recognizers:
  - name: employee_id
    entity: EMPLOYEE_ID
    patterns:
      - {regex: 'E-\\d{6}', score: 0.4}
    context: [employee, staff]
"""


def test_custom_recognizer_with_context(tmp_path: Path) -> None:
    path = tmp_path / "rec.yaml"
    path.write_text(GOOD)
    engine = build_engine(EngineConfig(custom_recognizers=[path]))
    assert "EMPLOYEE_ID" in engine.supported_entities
    hit = engine.analyze("employee E-123456 badge")
    assert [(s.entity_type, s.score) for s in hit] == [("EMPLOYEE_ID", 0.75)]
    assert engine.analyze("code E-123456") == []  # 0.4 < threshold without context


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (GOOD.replace("entity: EMPLOYEE_ID", "entity: NOPE"), 4, "recognizers[0].entity"),
        (GOOD.replace("E-\\d{6}", "E-(\\d{6}"), 6, "recognizers[0].patterns[0].regex"),
        (GOOD + "    validator: nosuch\n", 8, "recognizers[0].validator"),
        (GOOD + "    colour: red\n", 8, "recognizers[0].colour"),
    ],
)
def test_errors_name_file_line_field(tmp_path: Path, text: str, line: int, field: str) -> None:
    path = tmp_path / "rec.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError) as info:
        load_custom_recognizers(path)
    assert info.value.file == str(path)
    assert info.value.line == line
    assert info.value.field == field


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("recognizers: [\n")
    with pytest.raises(ValidationError, match="invalid YAML"):
        load_custom_recognizers(path)
    with pytest.raises(ValidationError, match="cannot read"):
        load_custom_recognizers(tmp_path / "missing.yaml")


def test_backend_needs_local_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        build_engine(EngineConfig(backends=["spacy:" + str(tmp_path / "absent")]))
    with pytest.raises(ConfigError):
        build_engine(EngineConfig(backends=["magic:/x"]))


@pytest.mark.skipif(importlib.util.find_spec("spacy") is None, reason="spaCy not installed")
def test_spacy_backend_from_local_path(tmp_path: Path) -> None:
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "ORG", "pattern": "Globex"}])  # type: ignore[attr-defined]
    nlp.to_disk(tmp_path / "model")
    engine = build_engine(EngineConfig(backends=["spacy:" + str(tmp_path / "model")]))
    spans = engine.analyze("She joined Globex in spring")
    assert [(s.entity_type, s.recognizer) for s in spans] == [("ORGANIZATION", "spacy:model")]

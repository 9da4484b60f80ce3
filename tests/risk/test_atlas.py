"""ATLAS import: ids and titles from the official file, our own summaries, shipped copy current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bastion.core.errors import ValidationError
from bastion.risk.atlas import (
    catalogue_from_document,
    import_atlas,
    shipped_catalogue_path,
    write_catalogue,
)


def test_import_matches_the_shipped_catalogue(shared_data: Path) -> None:
    document = import_atlas(shared_data / "atlas" / "ATLAS.yaml")
    write_catalogue(document, Path("atlas.json"))
    assert Path("atlas.json").read_bytes() == shipped_catalogue_path().read_bytes()


def test_import_keeps_ids_and_titles_but_not_mitre_descriptions(shared_data: Path) -> None:
    source = shared_data / "atlas" / "ATLAS.yaml"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    official = yaml.load(source.read_text(encoding="utf-8"), Loader=loader)["matrices"][0]
    document = import_atlas(source)
    catalogue = catalogue_from_document(document)
    assert catalogue.title("AML.T0051") == "LLM Prompt Injection"
    assert catalogue.entries["AML.T0024.002"].parent == "AML.T0024"
    assert catalogue.title("AML.M0004") == "Restrict Number of AI Model Queries"
    text = json.dumps(document)
    for kind in ("techniques", "mitigations", "tactics"):
        for raw in official[kind]:
            assert raw["id"] in catalogue
            first_sentence = str(raw.get("description", "")).split(".")[0].strip()
            if len(first_sentence) > 30:
                assert first_sentence not in text, raw["id"]


def test_not_an_atlas_file_is_rejected() -> None:
    Path("bad.yaml").write_text("hello: world\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="ATLAS"):
        import_atlas(Path("bad.yaml"))
    with pytest.raises(ValidationError):
        import_atlas(Path("missing.yaml"))

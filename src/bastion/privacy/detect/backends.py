"""Optional NER backends (spaCy, transformers) loaded from LOCAL paths only.

They join the same registry as the built-in recognizers; nothing here is imported
unless the user configures a backend, and nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bastion.core.errors import ConfigError
from bastion.privacy.detect.recognizer import Document
from bastion.privacy.detect.span import Span

#: NER labels (OntoNotes, CoNLL) → Bastion entity types.
LABELS = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "NORP": "NRP",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
}


class SpacyBackend:
    """Entities from a spaCy pipeline saved on disk (``spacy.load`` of a directory)."""

    def __init__(self, path: Path, score: float = 0.8) -> None:
        import spacy

        self.name = f"spacy:{path.name}"
        self._nlp = spacy.load(path)
        self._score = score
        self.entities = frozenset(LABELS.values())

    def find(self, doc: Document) -> Iterator[Span]:
        for ent in self._nlp(doc.text).ents:
            entity = LABELS.get(ent.label_)
            if entity is not None and ent.end_char > ent.start_char:
                yield Span(
                    ent.start_char,
                    ent.end_char,
                    entity,
                    self._score,
                    self.name,
                    f"spaCy NER label {ent.label_}",
                )


class TransformersBackend:
    """Entities from a local token-classification model (``local_files_only``)."""

    def __init__(self, path: Path) -> None:
        from transformers import pipeline

        self.name = f"transformers:{path.name}"
        self._pipe: Any = pipeline(
            "token-classification",
            model=str(path),
            aggregation_strategy="simple",
            model_kwargs={"local_files_only": True},
        )
        self.entities = frozenset(LABELS.values())

    def find(self, doc: Document) -> Iterator[Span]:
        for item in self._pipe(doc.text):
            entity = LABELS.get(str(item["entity_group"]).upper())
            start, end = int(item["start"]), int(item["end"])
            if entity is not None and end > start:
                yield Span(
                    start,
                    end,
                    entity,
                    round(float(item["score"]), 3),
                    self.name,
                    f"transformers NER label {item['entity_group']}",
                )


def load_backend(spec: str) -> SpacyBackend | TransformersBackend:
    """``"spacy:/path"`` or ``"transformers:/path"``; fails clearly if not installed or missing."""
    kind, _, location = spec.partition(":")
    path = Path(location)
    if kind not in {"spacy", "transformers"} or not location:
        raise ConfigError(
            f"backend {spec!r}: expected 'spacy:/local/path' or 'transformers:/local/path'"
        )
    if importlib.util.find_spec(kind) is None:
        raise ConfigError(f"backend {spec!r}: the '{kind}' package is not installed")
    if not path.is_dir():
        raise ConfigError(
            f"backend {spec!r}: {path} is not a local model directory (models are never downloaded)"
        )
    return SpacyBackend(path) if kind == "spacy" else TransformersBackend(path)

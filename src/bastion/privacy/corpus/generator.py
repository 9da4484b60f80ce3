"""Generate labelled documents with exact character spans from Faker values."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from faker import Faker

from bastion.privacy.corpus.templates import GENRES, NEGATIVES
from bastion.privacy.corpus.values import MAKERS

LOCALES = ("en_US", "en_US", "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_IE")
_SLOT = re.compile(r"\{([A-Z_]+)\}")
SPLITS = ("tune", "holdout", "all")


@dataclass
class Document:
    """One labelled text: spans are ``{"start", "end", "type"}`` into ``text``."""

    text: str
    spans: list[dict[str, object]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"text": self.text, "spans": self.spans, "meta": self.meta}, ensure_ascii=False
        )


def _split(fragments: list[str], split: str) -> list[str]:
    if split == "all":
        return fragments
    keep = 0 if split == "tune" else 1
    return [f for i, f in enumerate(fragments) if i % 2 == keep]


def _fill(template: str, faker: Faker, us: Faker, rng: random.Random, doc: Document) -> None:
    cursor = 0
    for match in _SLOT.finditer(template):
        doc.text += template[cursor : match.start()]
        for value, entity in MAKERS[match.group(1)](faker, us, rng):
            start = len(doc.text)
            doc.text += value
            if entity is not None:
                doc.spans.append({"start": start, "end": len(doc.text), "type": entity})
        cursor = match.end()
    doc.text += template[cursor:]


def generate(n: int, seed: int = 0, split: str = "all") -> Iterator[Document]:
    """``n`` documents, deterministic for a given seed and split."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    rng = random.Random(seed)
    fakers: dict[str, Faker] = {}
    us = Faker("en_US")
    us.seed_instance(seed)
    genres = {name: _split(frags, split) for name, frags in GENRES.items()}
    negatives = _split(NEGATIVES, split)
    for index in range(n):
        locale = rng.choice(LOCALES)
        faker = fakers.get(locale)
        if faker is None:
            faker = fakers[locale] = Faker(locale)
            faker.seed_instance(seed + len(fakers))
        genre = rng.choice(sorted(genres))
        doc = Document("", meta={"genre": genre, "locale": locale, "id": f"{split}-{seed}-{index}"})
        parts = rng.sample(genres[genre], k=min(len(genres[genre]), rng.randint(1, 4)))
        if rng.random() < 0.5:
            parts.insert(rng.randint(0, len(parts)), rng.choice(negatives))
        joiner = "\n" if genre == "log" else rng.choice([" ", " ", "\n"])
        for i, template in enumerate(parts):
            if i:
                doc.text += joiner
            _fill(template, faker, us, rng, doc)
        yield doc


def write_jsonl(path: Path, documents: Iterator[Document]) -> int:
    """Write documents as JSON lines; returns how many were written."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for doc in documents:
            out.write(doc.to_json() + "\n")
            count += 1
    return count

"""MITRE ATLAS catalogue: import from the official ``ATLAS.yaml`` and load the shipped copy.

The project's catalogue keeps identifiers, titles, tactic membership and the
technique links of mitigations (facts), plus a one-line summary we generate
ourselves; MITRE's description text is never copied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bastion.core.errors import ValidationError

CATALOGUE_RESOURCE = "atlas.json"


@dataclass(frozen=True)
class AtlasEntry:
    """One tactic, technique or mitigation."""

    id: str
    title: str
    kind: str
    summary: str
    tactics: tuple[str, ...] = ()
    parent: str | None = None
    techniques: tuple[str, ...] = ()


@dataclass(frozen=True)
class AtlasCatalogue:
    """IDs and titles of ATLAS tactics, techniques and mitigations."""

    version: str
    entries: dict[str, AtlasEntry] = field(default_factory=dict)

    def __contains__(self, atlas_id: object) -> bool:
        return atlas_id in self.entries

    def title(self, atlas_id: str) -> str:
        """The entry's title; raises ``KeyError`` for unknown ids."""
        return self.entries[atlas_id].title

    def of_kind(self, kind: str) -> list[AtlasEntry]:
        """Entries of one kind (tactic, technique, mitigation) in id order."""
        return sorted((e for e in self.entries.values() if e.kind == kind), key=lambda e: e.id)


def _summary_for_technique(
    raw: dict[str, Any], tactic_titles: dict[str, str], titles: dict[str, str]
) -> str:
    parent = raw.get("subtechnique-of")
    if parent:
        return f"A variant of {parent} ({titles.get(parent, 'unknown')})."
    tactics = [tactic_titles.get(t, t) for t in raw.get("tactics", [])]
    return "Adversary technique used for " + ", ".join(tactics).lower() + "." if tactics else ""


def import_atlas(source: Path) -> dict[str, Any]:
    """Read the official ATLAS.yaml and return the project's catalogue document."""
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # same safe subset, faster
        document = yaml.load(source.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    except OSError as exc:
        raise ValidationError(
            f"cannot read ATLAS data ({exc.strerror})", file=str(source)
        ) from None
    except yaml.YAMLError as exc:
        raise ValidationError(f"invalid YAML: {exc}", file=str(source)) from None
    if not isinstance(document, dict) or not isinstance(document.get("matrices"), list):
        raise ValidationError("not an ATLAS.yaml document (no 'matrices')", file=str(source))
    tactics: dict[str, dict[str, Any]] = {}
    techniques: dict[str, dict[str, Any]] = {}
    mitigations: dict[str, dict[str, Any]] = {}
    for matrix in document["matrices"]:
        for raw in matrix.get("tactics", []):
            tactics[raw["id"]] = raw
        for raw in matrix.get("techniques", []):
            techniques[raw["id"]] = raw
        for raw in matrix.get("mitigations", []):
            mitigations[raw["id"]] = raw
    if not techniques:
        raise ValidationError("no techniques found", file=str(source), field="matrices")
    tactic_titles = {tid: str(t["name"]) for tid, t in tactics.items()}
    titles = {tid: str(t["name"]) for tid, t in techniques.items()}
    out_tactics = [
        {"id": tid, "title": tactic_titles[tid], "summary": f"ATLAS tactic: {tactic_titles[tid]}."}
        for tid in sorted(tactics)
    ]
    out_techniques = []
    for tid in sorted(techniques):
        raw = techniques[tid]
        entry: dict[str, Any] = {
            "id": tid,
            "title": titles[tid],
            "summary": _summary_for_technique(raw, tactic_titles, titles),
            "tactics": sorted(raw.get("tactics", [])),
        }
        if raw.get("subtechnique-of"):
            entry["parent"] = raw["subtechnique-of"]
        out_techniques.append(entry)
    out_mitigations = []
    for mid in sorted(mitigations):
        raw = mitigations[mid]
        linked = sorted({str(t["id"]) for t in raw.get("techniques", []) if isinstance(t, dict)})
        categories = ", ".join(raw.get("category", []) or []) or "general"
        out_mitigations.append(
            {
                "id": mid,
                "title": str(raw["name"]),
                "summary": f"{categories} mitigation addressing {len(linked)} techniques.",
                "techniques": linked,
            }
        )
    return {
        "source": {
            "name": str(document.get("name", "MITRE ATLAS")),
            "version": str(document.get("version", "unknown")),
            "license": "Apache-2.0 (identifiers and titles from MITRE ATLAS)",
        },
        "tactics": out_tactics,
        "techniques": out_techniques,
        "mitigations": out_mitigations,
    }


def write_catalogue(document: dict[str, Any], target: Path) -> None:
    """Write the catalogue deterministically (sorted keys, stable indentation)."""
    target.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def shipped_catalogue_path() -> Path:
    """Where the packaged catalogue lives (the default target of ``atlas import``)."""
    return Path(str(resources.files("bastion.risk") / "data" / CATALOGUE_RESOURCE))


def catalogue_from_document(document: dict[str, Any]) -> AtlasCatalogue:
    """Build the in-memory catalogue from a catalogue document."""
    entries: dict[str, AtlasEntry] = {}
    for kind, key in (
        ("tactic", "tactics"),
        ("technique", "techniques"),
        ("mitigation", "mitigations"),
    ):
        for raw in document.get(key, []):
            entries[raw["id"]] = AtlasEntry(
                id=raw["id"],
                title=raw["title"],
                kind=kind,
                summary=raw.get("summary", ""),
                tactics=tuple(raw.get("tactics", [])),
                parent=raw.get("parent"),
                techniques=tuple(raw.get("techniques", [])),
            )
    return AtlasCatalogue(
        version=str(document.get("source", {}).get("version", "")), entries=entries
    )


@lru_cache(maxsize=1)
def load_atlas() -> AtlasCatalogue:
    """The shipped catalogue (no network, no shared data needed at run time)."""
    text = (resources.files("bastion.risk") / "data" / CATALOGUE_RESOURCE).read_text(
        encoding="utf-8"
    )
    return catalogue_from_document(json.loads(text))

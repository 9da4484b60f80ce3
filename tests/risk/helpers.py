"""Small system models written to the test's directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

BASE: dict[str, Any] = {
    "system": {"name": "Test system", "description": "for tests"},
    "boundaries": [
        {"id": "clinic", "name": "Clinic", "trust": "trusted"},
        {"id": "platform", "name": "Platform", "trust": "restricted"},
    ],
    "elements": [
        {"id": "doctor", "type": "actor", "name": "Doctor", "boundary": "clinic"},
        {
            "id": "api",
            "type": "inference_endpoint",
            "name": "API",
            "boundary": "platform",
            "properties": {"trained_on": ["phi"]},
        },
        {
            "id": "notes",
            "type": "data_store",
            "name": "Notes",
            "boundary": "platform",
            "data": ["phi"],
        },
    ],
    "flows": [
        {
            "id": "f1",
            "name": "ask",
            "from": "doctor",
            "to": "api",
            "data": ["phi"],
            "protocol": "https",
            "authentication": "oauth2",
        },
        {
            "id": "f2",
            "name": "store",
            "from": "api",
            "to": "notes",
            "data": ["phi"],
            "protocol": "http",
            "authentication": "none",
        },
    ],
}


def write_system(path: Path, document: dict[str, Any] | None = None) -> Path:
    """Write ``document`` (default ``BASE``) as YAML and return the path."""
    path.write_text(yaml.safe_dump(document or BASE, sort_keys=False), encoding="utf-8")
    return path


def copy_base() -> dict[str, Any]:
    """A deep copy of ``BASE`` to modify."""
    copied: dict[str, Any] = yaml.safe_load(yaml.safe_dump(BASE))
    return copied

"""What changed between two assessments (their registers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastion.risk.register import read_register

TRACKED = (
    "likelihood",
    "impact",
    "inherent_score",
    "residual_score",
    "residual_band",
    "owner",
    "status",
    "due",
)


def register_path(path: Path) -> Path:
    """A register file, or ``register.json`` inside an assessment directory."""
    return path / "register.json" if path.is_dir() else path


def diff_registers(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Added, removed, vanished and reappeared threats, and changed fields, in id order."""
    before = {e["id"]: e for e in old["entries"]}
    after = {e["id"]: e for e in new["entries"]}
    added = sorted(i for i in after if i not in before and after[i]["state"] == "active")
    removed = sorted(i for i in before if i not in after)
    vanished = sorted(
        i
        for i in after
        if after[i]["state"] == "vanished" and before.get(i, {}).get("state") != "vanished"
    )
    reappeared = sorted(
        i
        for i in after
        if after[i]["state"] == "active" and before.get(i, {}).get("state") == "vanished"
    )
    changed = []
    for tid in sorted(set(before) & set(after)):
        for key in TRACKED:
            if before[tid].get(key) != after[tid].get(key):
                changed.append(
                    {
                        "id": tid,
                        "field": key,
                        "old": before[tid].get(key),
                        "new": after[tid].get(key),
                    }
                )

    def brief(entries: dict[str, dict[str, Any]], ids: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "id": i,
                "title": entries[i]["title"],
                "target": entries[i]["target"],
                "residual_score": entries[i].get("residual_score"),
            }
            for i in ids
        ]

    residual_before = sum(
        int(e["residual_score"]) for e in before.values() if e["state"] == "active"
    )
    residual_after = sum(int(e["residual_score"]) for e in after.values() if e["state"] == "active")
    return {
        "added": brief(after, added),
        "removed": brief(before, removed),
        "vanished": brief(after, vanished),
        "reappeared": brief(after, reappeared),
        "changed": changed,
        "total_residual": {"old": residual_before, "new": residual_after},
    }


def diff_paths(old: Path, new: Path) -> dict[str, Any]:
    """Diff two assessment directories or register files."""
    return diff_registers(read_register(register_path(old)), read_register(register_path(new)))

"""The risk register: scored threats, mitigations and human decisions that survive re-runs.

The register is a file kept in git.  Each entry stores the engine's proposal
under ``engine``; when a person changes a score, rationale, owner, due date or
status, the value differs from the proposal and is kept on the next run.  New
threats are added; threats that no longer fire are marked ``vanished``, never
deleted.  Sign-offs and notes are always kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bastion.core.audit_sink import AuditSink
from bastion.core.errors import ValidationError
from bastion.risk.catalogue import Catalogue
from bastion.risk.engine import Threat
from bastion.risk.yamlsrc import LocatedDict, load_file, where

SCHEMA = "bastion.risk.register/1"
STATUSES = ("open", "mitigating", "mitigated", "accepted", "transferred", "avoided")
EDITABLE = ("likelihood", "impact", "rationale", "owner", "due", "status")
_ROLE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def band(score: int) -> str:
    """Risk band of a likelihood × impact score (1–25)."""
    if score >= 20:
        return "critical"
    if score >= 10:
        return "high"
    if score >= 5:
        return "medium"
    return "low"


def _reduced(entry: dict[str, Any], catalogue: Catalogue) -> tuple[int, int]:
    likelihood, impact = int(entry["likelihood"]), int(entry["impact"])
    for mitigation in entry["mitigations"]:
        if mitigation["state"] == "effective":
            control = catalogue.controls[mitigation["control"]]
            likelihood -= control.reduces_likelihood
            impact -= control.reduces_impact
    return max(1, likelihood), max(1, impact)


def score_entry(entry: dict[str, Any], catalogue: Catalogue) -> None:
    """(Re)compute inherent and residual scores and bands in place."""
    inherent = int(entry["likelihood"]) * int(entry["impact"])
    residual_l, residual_i = _reduced(entry, catalogue)
    entry["inherent_score"] = inherent
    entry["inherent_band"] = band(inherent)
    entry["residual_likelihood"] = residual_l
    entry["residual_impact"] = residual_i
    entry["residual_score"] = residual_l * residual_i
    entry["residual_band"] = band(residual_l * residual_i)


def _proposal(
    threat: Threat,
    owners: Mapping[str, str],
    mitigations: list[dict[str, Any]],
    catalogue: Catalogue,
) -> dict[str, Any]:
    effective = any(m["state"] == "effective" for m in mitigations)
    probe = {"likelihood": threat.likelihood, "impact": threat.impact, "mitigations": mitigations}
    residual_l, residual_i = _reduced(probe, catalogue)
    if not effective:
        status = "open"
    elif band(residual_l * residual_i) == "low":
        status = "mitigated"
    else:
        status = "mitigating"
    return {
        "likelihood": threat.likelihood,
        "impact": threat.impact,
        "rationale": threat.rationale,
        "owner": owners.get(threat.rule.category, owners.get("default", "unassigned")),
        "due": "",
        "status": status,
    }


def entry_from_threat(
    threat: Threat, owners: Mapping[str, str], catalogue: Catalogue
) -> dict[str, Any]:
    """A fresh register entry for an active (unsuppressed) threat."""
    rule = threat.rule
    mitigations = [
        {
            "control": m.control,
            "title": catalogue.controls[m.control].title,
            "state": m.state,
            "reduces": {
                "likelihood": catalogue.controls[m.control].reduces_likelihood,
                "impact": catalogue.controls[m.control].reduces_impact,
            },
        }
        for m in threat.mitigations
    ]
    proposal = _proposal(threat, owners, mitigations, catalogue)
    entry: dict[str, Any] = {
        "id": threat.id,
        "rule": rule.id,
        "title": rule.title,
        "category": rule.category,
        "target_kind": threat.target_kind,
        "target": threat.target,
        "target_name": threat.target_name,
        "why": list(threat.why),
        "stride": list(rule.stride),
        "linddun": list(rule.linddun),
        "atlas": list(rule.atlas),
        "owasp_llm": list(rule.owasp_llm),
        "owasp_ml": list(rule.owasp_ml),
        "playbook": rule.playbook,
        "mitigations": mitigations,
        "signoffs": [],
        "notes": "",
        "state": "active",
        "engine": proposal,
        **proposal,
    }
    score_entry(entry, catalogue)
    return entry


def merge(
    previous: Mapping[str, Any] | None,
    threats: list[Threat],
    owners: Mapping[str, str],
    catalogue: Catalogue,
    system_name: str,
) -> dict[str, Any]:
    """The new register: fresh proposals merged with the people's edits in ``previous``."""
    old_entries = {e["id"]: e for e in (previous or {}).get("entries", [])}
    entries: dict[str, dict[str, Any]] = {}
    for threat in threats:
        if threat.suppressed is not None:
            continue
        fresh = entry_from_threat(threat, owners, catalogue)
        old = old_entries.get(threat.id)
        if old is not None:
            old_engine = old.get("engine", {})
            for key in EDITABLE:
                if key in old and old[key] != old_engine.get(key):
                    fresh[key] = old[key]
            fresh["signoffs"] = list(old.get("signoffs", []))
            fresh["notes"] = old.get("notes", "")
            score_entry(fresh, catalogue)
        entries[threat.id] = fresh
    for tid, old in old_entries.items():
        if tid not in entries:
            kept = dict(old)
            kept["state"] = "vanished"
            entries[tid] = kept
    return {
        "schema": SCHEMA,
        "system": system_name,
        "signoffs": list((previous or {}).get("signoffs", [])),
        "entries": [entries[k] for k in sorted(entries)],
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _validate_entry(entry: Any, index: int) -> None:
    ctx = f"entries[{index}]"
    if not isinstance(entry, LocatedDict) or not isinstance(entry.get("id"), str):
        raise ValidationError("each entry needs an 'id'", field=ctx, **where(entry))
    ctx = f"entries[{entry['id']}]"
    for key in ("likelihood", "impact"):
        value = entry.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise ValidationError(
                f"score must be an integer from 1 to 5, got {value!r}",
                field=f"{ctx}.{key}",
                **where(entry, key),
            )
    if entry.get("status") not in STATUSES:
        raise ValidationError(
            f"status must be one of {', '.join(STATUSES)}, got {entry.get('status')!r}",
            field=f"{ctx}.status",
            **where(entry, "status"),
        )
    due = entry.get("due", "")
    if due not in ("", None) and not (isinstance(due, str) and _DATE.match(due)):
        raise ValidationError(
            f"due must be YYYY-MM-DD, got {due!r}", field=f"{ctx}.due", **where(entry, "due")
        )
    if not isinstance(entry.get("mitigations", []), list):
        raise ValidationError(
            "mitigations must be a list", field=f"{ctx}.mitigations", **where(entry, "mitigations")
        )


def read_register(path: Path) -> dict[str, Any]:
    """Read and validate a register file (JSON or YAML)."""
    document = load_file(path)
    if not isinstance(document, LocatedDict) or document.get("schema") != SCHEMA:
        raise ValidationError(
            f"not a Bastion risk register (schema {SCHEMA})", file=str(path), field="schema"
        )
    entries = document.get("entries")
    if not isinstance(entries, list):
        raise ValidationError(
            "'entries' must be a list", field="entries", **where(document, "entries")
        )
    for index, entry in enumerate(entries):
        _validate_entry(entry, index)
    plain: dict[str, Any] = _plain(document)
    return plain


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def _compact(value: Any) -> str:
    return _ENCODER.encode(value)


def _dump_json(register: Mapping[str, Any]) -> str:
    """Canonical JSON: one field per line so edits diff cleanly, nested values compact.

    (``json.dumps(indent=...)`` falls back to the pure-Python encoder, which is
    several times slower on registers with thousands of entries.)
    """
    lines = ["{"]
    keys = sorted(register)
    for index, key in enumerate(keys):
        comma = "," if index < len(keys) - 1 else ""
        value = register[key]
        if key != "entries":
            lines.append(f"  {_compact(key)}: {_compact(value)}{comma}")
            continue
        lines.append('  "entries": [' if value else '  "entries": []' + comma)
        for position, entry in enumerate(value):
            lines.append("    {")
            fields = sorted(entry)
            lines.extend(
                f"      {_compact(name)}: {_compact(entry[name])}"
                + ("," if number < len(fields) - 1 else "")
                for number, name in enumerate(fields)
            )
            lines.append("    }" + ("," if position < len(value) - 1 else ""))
        if value:
            lines.append("  ]" + comma)
    lines.append("}")
    return "\n".join(lines) + "\n"


def dump_register(register: Mapping[str, Any], path: Path) -> str:
    """Serialise deterministically; the format follows the file extension."""
    if path.suffix in (".yaml", ".yml"):
        return yaml.safe_dump(_plain(dict(register)), sort_keys=True, allow_unicode=True, width=100)
    return _dump_json(register)


def write_register(register: Mapping[str, Any], path: Path) -> None:
    """Write the register atomically."""
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(dump_register(register, path), encoding="utf-8")
    temp.replace(path)


def signoff(
    path: Path,
    *,
    role: str,
    by: str,
    at: str,
    sink: AuditSink,
    threat: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Record a sign-off by role in the register and in the audit log; returns the record."""
    if not _ROLE.match(role):
        raise ValidationError(
            f"invalid role {role!r} (lowercase letters, digits, - and _)", field="role"
        )
    if not by.strip():
        raise ValidationError("the signer's name is required", field="by")
    register = read_register(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    record = {"role": role, "by": by, "at": at, "register_sha256": digest}
    if note:
        record["note"] = note
    if threat is None:
        register.setdefault("signoffs", []).append(record)
        resource = f"risk-register:{register.get('system', path.name)}"
    else:
        matches = [e for e in register["entries"] if e["id"] == threat]
        if not matches:
            raise ValidationError(
                f"no threat {threat!r} in the register", file=str(path), field="threat"
            )
        matches[0].setdefault("signoffs", []).append(record)
        resource = f"risk-register:{register.get('system', path.name)}:{threat}"
    sink.append(
        principal=by,
        action="risk:signoff",
        resource=resource,
        outcome="success",
        details={
            "role": role,
            "register_sha256": digest,
            "threat": threat or "",
            "entries": len(register["entries"]),
        },
    )
    write_register(register, path)
    return record

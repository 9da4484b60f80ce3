"""Containment actions that really act, each recorded in the incident and the audit log.

* ``revoke-key``: revokes an API key in the gateway's key store; every gateway
  process reads the key row on each request, so the next request is refused.
* ``block-client``: adds an address to the blocklist the gateway consults
  (``bastion.monitor.gateway``), refusing it with 403 ``client-blocked``.
* ``rollback-model``: points the served model back at the previous signed
  version in the model store (``<home>/models/<model>/<run>/``) after verifying
  its signature; the gateway swaps the model on its next request.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.core.audit_sink import AuditSink
from bastion.core.errors import NotFoundError, ValidationError
from bastion.core.settings import Settings
from bastion.core.timeutil import isoformat, utcnow
from bastion.monitor.store import MonitorStore

SERVED_POINTER = "served-model.json"


@dataclass(frozen=True)
class ActionResult:
    action: str
    target: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "target": self.target, **self.detail}


def served_pointer_path(settings: Settings) -> Path:
    return settings.home / "monitor" / SERVED_POINTER


def read_served_pointer(settings: Settings) -> dict[str, Any] | None:
    path = served_pointer_path(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, OSError):
        return None
    return data if isinstance(data, dict) else None


def model_versions(settings: Settings, model: str) -> list[Path]:
    """Bundles of ``model`` oldest first (by the lineage's ``started_at``, then name)."""
    root = settings.models_dir / model
    if not root.is_dir():
        raise NotFoundError(f"no model {model!r} in {settings.models_dir}")

    def started(bundle: Path) -> str:
        try:
            lineage = json.loads((bundle / "lineage.json").read_text(encoding="utf-8"))
            return str(lineage.get("started_at", ""))
        except (OSError, ValueError):
            return ""

    bundles = [p for p in root.iterdir() if p.is_dir() and (p / "model.skops").is_file()]
    return sorted(bundles, key=lambda p: (started(p), p.name))


class Playbook:
    """Runs containment actions for an incident."""

    def __init__(
        self,
        settings: Settings,
        store: MonitorStore,
        audit: AuditSink,
        *,
        keys: Any | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.audit = audit
        self._keys = keys

    def _key_store(self) -> Any:
        if self._keys is None:
            from bastion.serving import key_store_from_settings

            self._keys = key_store_from_settings(self.settings)
        return self._keys

    def _record(self, incident_id: str, actor: str, result: ActionResult) -> ActionResult:
        self.store.get(incident_id)
        self.store.add_entry(
            incident_id,
            "action",
            actor,
            f"{result.action} {result.target}",
            result.to_dict(),
        )
        self.audit.append(
            principal=actor,
            action=f"incident:{result.action}",
            resource=f"incident:{incident_id}",
            outcome="allow",
            details={"event": "incident-action", **result.to_dict()},
        )
        return result

    def run(self, incident_id: str, action: str, target: str, actor: str) -> ActionResult:
        """Run ``action`` on ``target`` for the incident (which must exist and be open)."""
        incident = self.store.get(incident_id)
        if incident.state != "open":
            raise ValidationError(f"incident {incident_id} is closed", field="id")
        if action == "revoke-key":
            return self._record(incident_id, actor, self.revoke_key(target))
        if action == "block-client":
            return self._record(incident_id, actor, self.block_client(target, incident_id))
        if action == "rollback-model":
            return self._record(incident_id, actor, self.rollback_model(target, incident_id))
        raise ValidationError("one of revoke-key, block-client, rollback-model", field="action")

    def revoke_key(self, target: str) -> ActionResult:
        """Revoke by key name, prefix or principal id ``key:<name>``."""
        name = target.removeprefix("key:")
        record = self._key_store().revoke(name)
        return ActionResult(
            "revoke-key", f"key:{record.name}", {"prefix": record.prefix, "state": record.state()}
        )

    def block_client(self, address: str, incident_id: str) -> ActionResult:
        blocked = self.store.block(address.removeprefix("client:"), "incident", incident_id)
        return ActionResult("block-client", blocked.address, {"blocked": True})

    def rollback_model(self, model: str, incident_id: str) -> ActionResult:
        """Serve the signed version before the one served now."""
        from bastion.pipeline import verify_model
        from bastion.pipeline.wiring import allowed_types_from_settings, trust_store_from_settings

        versions = model_versions(self.settings, model)
        pointer = read_served_pointer(self.settings)
        current: Path | None = None
        if pointer and pointer.get("model") == model:
            current = Path(str(pointer["path"]))
        elif self.settings.serving.model_path is not None:
            current = self.settings.serving.model_path
        elif versions:
            current = versions[-1]
        resolved = [v.resolve() for v in versions]
        if current is None or current.resolve() not in resolved:
            raise NotFoundError(f"the served version of {model!r} is not in the model store")
        index = resolved.index(current.resolve())
        if index == 0:
            raise ValidationError(
                f"{current.name} is the oldest version of {model!r}; nothing to roll back to",
                field="model",
            )
        trust = trust_store_from_settings(self.settings)
        allowed = allowed_types_from_settings(self.settings)
        for candidate in reversed(versions[:index]):
            verify_model(candidate, trust, allowed_types=allowed)  # refuses unsigned/tampered
            target = candidate
            break
        path = served_pointer_path(self.settings)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = {
            "model": model,
            "path": str(target.resolve()),
            "previous": str(current.resolve()),
            "set_at": isoformat(utcnow()),
            "incident_id": incident_id,
        }
        staging = path.with_suffix(".tmp")
        staging.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(staging, path)
        return ActionResult(
            "rollback-model",
            model,
            {"from": current.name, "to": target.name, "path": str(target.resolve())},
        )

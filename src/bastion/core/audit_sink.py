"""The narrow interface rooms use to record audit events without depending on the store.

``bastion.audit.AuditLog`` implements it; tests may pass a recorder.  Details
must never carry raw sensitive values: digests, counts, ids and reason codes only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class AuditSink(Protocol):
    """Anything that can append one audit event."""

    def append(
        self,
        *,
        principal: str,
        action: str,
        resource: str,
        outcome: str,
        details: Mapping[str, Any] | None = None,
    ) -> Any:
        """Record one event; ``outcome`` is e.g. ``allow``, ``deny``, ``success``, ``failure``."""
        ...

"""Abuse and adversarial signals computed from the gateway's audit events.

Each signal is a metric keyed by a subject (a principal or a client address):

* ``requests`` — requests per principal in the window;
* ``injection_detections`` / ``harmful_detections`` — requests whose reason codes
  show a prompt-injection or harmful-content guard firing, per principal;
* ``guard_detection_rate`` — share of a principal's requests that a guard flagged;
* ``auth_failures`` — refused authentications (401) per client address, the
  footprint of credential stuffing; ``auth_failure_keys`` counts how many
  distinct key prefixes/reasons were tried is not knowable (keys are never
  logged), so bursts are measured by count;
* ``unique_input_ratio`` — distinct input digests / requests per principal;
* ``extraction_score`` — in [0, 1]: volume (requests / ``extraction_volume``,
  capped at 1) × uniqueness (distinct input digests / requests): a scripted
  client walking the input space to copy a model sends many queries and
  almost never repeats one, where real users repeat themselves.  Pacing is
  not used: audit events carry the time they were written (in batches), not
  the time each request arrived;
* ``traffic_change`` — (requests now + 1) / (requests in the previous window + 1),
  for principals with at least ``TRAFFIC_MIN_REQUESTS`` requests now (so a new
  user's first few calls are not a "spike").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bastion.audit import AuditEvent

GATEWAY_ACTION = "gateway:request"
PRINCIPAL_METRICS = (
    "requests",
    "injection_detections",
    "harmful_detections",
    "guard_detection_rate",
    "unique_input_ratio",
    "extraction_score",
    "traffic_change",
    "refusals",
)
CLIENT_METRICS = ("auth_failures", "client_requests")
SIGNAL_METRICS = PRINCIPAL_METRICS + CLIENT_METRICS
_ANONYMOUS = "anonymous"
TRAFFIC_MIN_REQUESTS = 50


def reason_family(reason: str) -> str | None:
    """``injection``, ``harmful``, ``pii`` or ``secrets`` for guard reason codes, else None."""
    head = reason.split(":", 1)[0].lower()
    for family in ("injection", "harmful", "pii", "secret"):
        if head.startswith(family):
            return "secrets" if family == "secret" else family
    return None


@dataclass
class Signals:
    """Metric → subject → value, with the audit event ids behind each subject."""

    values: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    evidence: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    events: int = 0

    def get(self, metric: str) -> dict[str, float]:
        return dict(self.values.get(metric, {}))


def _status(event: AuditEvent) -> int:
    value = event.details.get("status", 0)
    return int(value) if isinstance(value, int) else 0


def compute_signals(
    current: Sequence[AuditEvent],
    previous: Iterable[AuditEvent] = (),
    *,
    extraction_volume: int = 200,
    evidence_limit: int = 20,
) -> Signals:
    """All signals over ``current`` (``previous`` is the window before, for traffic change)."""
    out = Signals()
    per_principal: dict[str, list[AuditEvent]] = defaultdict(list)
    auth_failures: dict[str, list[AuditEvent]] = defaultdict(list)
    per_client: dict[str, int] = defaultdict(int)
    for event in current:
        if event.action != GATEWAY_ACTION:
            continue
        out.events += 1
        details = event.details
        client = str(details.get("client") or "unknown")
        per_client[client] += 1
        if _status(event) == 401:
            auth_failures[client].append(event)
        if event.principal != _ANONYMOUS:
            per_principal[event.principal].append(event)
    for client, failures in auth_failures.items():
        out.values["auth_failures"][client] = float(len(failures))
        out.evidence[f"client:{client}"] = [e.id for e in failures[-evidence_limit:]]
    for client, count in per_client.items():
        out.values["client_requests"][client] = float(count)
    before: dict[str, int] = defaultdict(int)
    for event in previous:
        if event.action == GATEWAY_ACTION and event.principal != _ANONYMOUS:
            before[event.principal] += 1
    for principal, events in per_principal.items():
        _principal_signals(out, principal, events, before[principal], extraction_volume)
        flagged = [e for e in events if _families(e)]
        picked = flagged or events
        out.evidence[f"principal:{principal}"] = [e.id for e in picked[-evidence_limit:]]
    return out


def _families(event: AuditEvent) -> set[str]:
    reasons = event.details.get("reasons") or []
    extra = [*event.details.get("guard_input", []), *event.details.get("guard_output", [])]
    return {f for f in (reason_family(str(r)) for r in [*reasons, *extra]) if f is not None}


def _principal_signals(
    out: Signals, principal: str, events: list[AuditEvent], before: int, volume: int
) -> None:
    count = len(events)
    families = [_families(e) for e in events]
    injection = sum(1 for f in families if "injection" in f)
    harmful = sum(1 for f in families if "harmful" in f)
    digests = [e.details.get("input_sha256") for e in events if e.details.get("input_sha256")]
    unique = len(set(digests)) / len(digests) if digests else 0.0
    refusals = sum(1 for e in events if e.outcome == "deny")
    score = min(1.0, count / volume) * unique
    values = {
        "requests": float(count),
        "injection_detections": float(injection),
        "harmful_detections": float(harmful),
        "guard_detection_rate": sum(1 for f in families if f) / count,
        "unique_input_ratio": unique,
        "extraction_score": score,
        "refusals": float(refusals),
    }
    if count >= TRAFFIC_MIN_REQUESTS:
        values["traffic_change"] = (count + 1) / (before + 1)
    for metric, value in values.items():
        out.values[metric][principal] = value

"""Evaluate alert rules against audit events (and data), then deliver alerts to sinks.

One evaluation: read the audit events of the longest rule window (plus the
window before it, for traffic change), compute signals per rule window, fire
each rule per subject, record every alert (alerts table + audit event
``monitor:alert``), send it to the sinks (log, webhook, incident) and record
the evaluation itself (audit event ``monitor:evaluate``).  An open incident
for the same rule and subject is extended rather than duplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bastion.audit import AuditEvent
from bastion.core.audit_sink import AuditSink
from bastion.core.errors import ServiceUnavailableError
from bastion.core.timeutil import isoformat, utcnow
from bastion.monitor.playbook import Playbook
from bastion.monitor.rules import DATA_METRICS, AlertRule
from bastion.monitor.signals import Signals, compute_signals
from bastion.monitor.store import MonitorStore, new_id

log = logging.getLogger("bastion.monitor.alerts")
MONITOR_PRINCIPAL = "service:monitor"


class EventSource(Protocol):
    def query(
        self,
        principal: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]: ...


@dataclass(frozen=True)
class Alert:
    id: str
    time: datetime
    rule: str
    metric: str
    severity: str
    subject: str
    value: float
    threshold: float
    op: str
    window_seconds: int
    audit_events: list[str] = field(default_factory=list)
    playbook: list[str] = field(default_factory=list)
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": isoformat(self.time),
            "rule": self.rule,
            "metric": self.metric,
            "severity": self.severity,
            "subject": self.subject,
            "value": self.value,
            "threshold": self.threshold,
            "op": self.op,
            "window_seconds": self.window_seconds,
            "audit_events": self.audit_events,
            "playbook": self.playbook,
            "description": self.description,
        }


class Sink(Protocol):
    def deliver(self, alert: Alert, incident_id: str | None) -> None: ...


class LogSink:
    """Alerts as warning log lines."""

    def deliver(self, alert: Alert, incident_id: str | None) -> None:
        log.warning(
            "alert rule=%s severity=%s subject=%s value=%.4g threshold=%s incident=%s",
            alert.rule,
            alert.severity,
            alert.subject,
            alert.value,
            alert.threshold,
            incident_id or "-",
        )


class WebhookSink:
    """Alerts as a JSON POST (a failed delivery is logged, never fatal to the evaluation)."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ServiceUnavailableError(f"webhook URL must be http(s): {url[:80]!r}")
        self.url = url
        self.timeout = timeout
        self.failures = 0

    def deliver(self, alert: Alert, incident_id: str | None) -> None:
        import httpx

        payload = {"type": "bastion.alert", "incident_id": incident_id, "alert": alert.to_dict()}
        try:
            response = httpx.post(self.url, json=payload, timeout=self.timeout)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            self.failures += 1
            log.error("webhook delivery of alert %s failed: %s", alert.id, exc)


@dataclass
class Evaluation:
    """What one evaluation found."""

    time: datetime
    rules: int
    events: int
    alerts: list[Alert]
    incidents: list[str]
    actions: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": isoformat(self.time),
            "rules": self.rules,
            "events": self.events,
            "alerts": [a.to_dict() for a in self.alerts],
            "incidents": self.incidents,
            "actions": self.actions,
        }


DataMetrics = Callable[[], dict[str, float]]


class Monitor:
    """Evaluates rules; ``data_metrics`` supplies drift/fairness values when configured."""

    def __init__(
        self,
        rules: Sequence[AlertRule],
        events: EventSource,
        audit: AuditSink,
        store: MonitorStore,
        *,
        sinks: Sequence[Sink] = (),
        playbook: Playbook | None = None,
        data_metrics: DataMetrics | None = None,
        extraction_volume: int = 200,
    ) -> None:
        self.rules = list(rules)
        self.events = events
        self.audit = audit
        self.store = store
        self.sinks = list(sinks)
        self.playbook = playbook
        self.data_metrics = data_metrics
        self.extraction_volume = extraction_volume

    def _signals(
        self, now: datetime, window: timedelta, cache: dict[timedelta, Signals]
    ) -> Signals:
        if window not in cache:
            current = self.events.query(action="gateway:request", since=now - window, until=now)
            previous = self.events.query(
                action="gateway:request", since=now - 2 * window, until=now - window
            )
            cache[window] = compute_signals(
                current, previous, extraction_volume=self.extraction_volume
            )
        return cache[window]

    def evaluate(self, now: datetime | None = None) -> Evaluation:
        """Evaluate every rule once."""
        now = now or utcnow()
        cache: dict[timedelta, Signals] = {}
        data: dict[str, float] | None = None
        alerts: list[Alert] = []
        events = 0
        for rule in self.rules:
            if rule.metric in DATA_METRICS:
                if self.data_metrics is None:
                    continue
                if data is None:
                    data = self.data_metrics()
                values = {"current": data[rule.metric]} if rule.metric in data else {}
                evidence: dict[str, list[str]] = {}
            else:
                signals = self._signals(now, rule.window, cache)
                events = max(events, signals.events)
                values, evidence = signals.get(rule.metric), signals.evidence
            for subject, value in sorted(values.items()):
                if rule.fires(value):
                    key = f"{rule.subject_kind}:{subject}"
                    alerts.append(
                        Alert(
                            id=new_id("alr"),
                            time=now,
                            rule=rule.name,
                            metric=rule.metric,
                            severity=rule.severity,
                            subject=key,
                            value=float(value),
                            threshold=rule.threshold,
                            op=rule.op,
                            window_seconds=int(rule.window.total_seconds()),
                            audit_events=list(evidence.get(key, [])),
                            playbook=list(rule.playbook),
                            description=rule.description,
                        )
                    )
        incidents: list[str] = []
        actions: list[dict[str, Any]] = []
        by_name = {rule.name: rule for rule in self.rules}
        for alert in alerts:
            rule = by_name[alert.rule]
            incident_id = self._incident_for(alert, rule) if rule.incident else None
            if incident_id and incident_id not in incidents:
                incidents.append(incident_id)
            self.store.record_alert(alert.to_dict(), incident_id)
            self.audit.append(
                principal=MONITOR_PRINCIPAL,
                action="monitor:alert",
                resource=f"rule:{alert.rule}",
                outcome="alert",
                details={
                    "event": "monitor-alert",
                    "alert_id": alert.id,
                    "subject": alert.subject,
                    "value": alert.value,
                    "threshold": alert.threshold,
                    "severity": alert.severity,
                    "incident_id": incident_id,
                    "audit_events": alert.audit_events,
                },
            )
            for sink in self.sinks:
                sink.deliver(alert, incident_id)
            if rule.contain and incident_id and self.playbook is not None:
                actions.extend(self._contain(alert, incident_id))
        self.audit.append(
            principal=MONITOR_PRINCIPAL,
            action="monitor:evaluate",
            resource="rules",
            outcome="success",
            details={
                "event": "monitor-evaluate",
                "rules": len(self.rules),
                "events": events,
                "alerts": len(alerts),
                "incidents": incidents,
            },
        )
        return Evaluation(now, len(self.rules), events, alerts, incidents, actions)

    def _incident_for(self, alert: Alert, rule: AlertRule) -> str:
        existing = self.store.find_open(rule.name, alert.subject)
        if existing is None:
            incident = self.store.open_incident(
                f"{rule.name}: {alert.subject}",
                rule.severity,
                MONITOR_PRINCIPAL,
                rule=rule.name,
                subject=alert.subject,
                note=rule.description or f"opened by rule {rule.name}",
            )
            incident_id = incident.id
            self.audit.append(
                principal=MONITOR_PRINCIPAL,
                action="incident:open",
                resource=f"incident:{incident_id}",
                outcome="success",
                details={"event": "incident-open", "rule": rule.name, "severity": rule.severity},
            )
        else:
            incident_id = existing.id
            self.store.raise_severity(incident_id, rule.severity)
        self.store.add_entry(
            incident_id,
            "alert",
            MONITOR_PRINCIPAL,
            f"{alert.metric}={alert.value:.4g} {alert.op} {alert.threshold:g}",
            {"alert_id": alert.id, "audit_events": alert.audit_events},
        )
        return incident_id

    def _contain(self, alert: Alert, incident_id: str) -> list[dict[str, Any]]:
        assert self.playbook is not None
        kind, _, target = alert.subject.partition(":")
        done = []
        for action in alert.playbook:
            revocable = action == "revoke-key" and kind == "principal" and target[:4] == "key:"
            if revocable or (action == "block-client" and kind == "client"):
                done.append(self.playbook.run(incident_id, action, target, MONITOR_PRINCIPAL))
        return [result.to_dict() for result in done]

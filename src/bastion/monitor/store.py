"""Incidents, their timelines, alerts and the client blocklist in the audit database.

Four tables (``<prefix>_incidents``, ``_timeline``, ``_alerts``, ``_blocklist``)
in the same SQL store as the audit log — SQLite by default, PostgreSQL by URL —
so an investigation joins incidents to audit events in one place.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bastion.core.errors import ConfigError, NotFoundError, ServiceUnavailableError, ValidationError
from bastion.core.settings import Settings, redact_url
from bastion.core.sql import parse_store_url
from bastion.core.timeutil import isoformat, parse_iso, utcnow

SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}
STATES = ("open", "closed")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class TimelineEntry:
    time: datetime
    kind: str
    actor: str
    text: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": isoformat(self.time),
            "kind": self.kind,
            "actor": self.actor,
            "text": self.text,
            "data": self.data,
        }


@dataclass(frozen=True)
class Incident:
    id: str
    title: str
    severity: str
    state: str
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    resolution: str | None
    rule: str | None
    subject: str | None
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def alerts(self) -> list[str]:
        return [str(e.data["alert_id"]) for e in self.timeline if e.kind == "alert"]

    @property
    def audit_events(self) -> list[str]:
        ids: list[str] = []
        for entry in self.timeline:
            for event_id in entry.data.get("audit_events", []):
                if event_id not in ids:
                    ids.append(str(event_id))
        return ids

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "state": self.state,
            "opened_at": isoformat(self.opened_at),
            "opened_by": self.opened_by,
            "closed_at": isoformat(self.closed_at) if self.closed_at else None,
            "resolution": self.resolution,
            "rule": self.rule,
            "subject": self.subject,
            "alerts": self.alerts,
            "audit_events": self.audit_events,
            "timeline": [e.to_dict() for e in self.timeline],
        }


@dataclass(frozen=True)
class BlockedClient:
    address: str
    reason: str
    incident_id: str | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "reason": self.reason,
            "incident_id": self.incident_id,
            "created_at": isoformat(self.created_at),
        }


_ADDRESS = re.compile(r"^[0-9A-Fa-f:.]{2,64}$|^[A-Za-z0-9._-]{1,64}$")


class MonitorStore:
    """SQL access for incidents, alerts and the blocklist."""

    def __init__(self, url: str, *, table_prefix: str = "bastion_monitor") -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", table_prefix):
            raise ConfigError(f"table prefix {table_prefix!r} must be lowercase letters/digits/_")
        self._url = url
        parsed = parse_store_url(url, what="monitor store")
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            kwargs = {"connect_args": {"timeout": 10}}
        self._engine: Engine = sa.create_engine(parsed, **kwargs)
        meta = sa.MetaData()
        self.incidents = sa.Table(
            f"{table_prefix}_incidents",
            meta,
            sa.Column("id", sa.String(40), primary_key=True),
            sa.Column("title", sa.String(256), nullable=False),
            sa.Column("severity", sa.String(16), nullable=False),
            sa.Column("state", sa.String(16), nullable=False, index=True),
            sa.Column("opened_at", sa.String(40), nullable=False),
            sa.Column("opened_by", sa.String(256), nullable=False),
            sa.Column("closed_at", sa.String(40)),
            sa.Column("resolution", sa.Text),
            sa.Column("rule", sa.String(64)),
            sa.Column("subject", sa.String(320)),
        )
        self.timeline = sa.Table(
            f"{table_prefix}_timeline",
            meta,
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("incident_id", sa.String(40), nullable=False, index=True),
            sa.Column("time", sa.String(40), nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("actor", sa.String(256), nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("data", sa.Text, nullable=False),
        )
        self.alerts = sa.Table(
            f"{table_prefix}_alerts",
            meta,
            sa.Column("id", sa.String(40), primary_key=True),
            sa.Column("time", sa.String(40), nullable=False, index=True),
            sa.Column("rule", sa.String(64), nullable=False),
            sa.Column("severity", sa.String(16), nullable=False),
            sa.Column("subject", sa.String(320), nullable=False),
            sa.Column("value", sa.Float, nullable=False),
            sa.Column("threshold", sa.Float, nullable=False),
            sa.Column("incident_id", sa.String(40)),
            sa.Column("data", sa.Text, nullable=False),
        )
        self.blocklist = sa.Table(
            f"{table_prefix}_blocklist",
            meta,
            sa.Column("address", sa.String(64), primary_key=True),
            sa.Column("reason", sa.String(256), nullable=False),
            sa.Column("incident_id", sa.String(40)),
            sa.Column("created_at", sa.String(40), nullable=False),
        )
        self._meta = meta
        self._schema_ready = False

    def _ensure_schema(self) -> None:
        """Create the tables on first use (not at import or app start-up).

        Two processes starting together may both try to create a table; the
        loser sees "already exists" (PostgreSQL may instead report a duplicate
        key in its catalogue), and the next attempt finds it.  Each attempt can
        lose on a different table, hence one attempt per table and a spare.
        """
        if self._schema_ready:
            return
        attempts = len(self._meta.tables) + 1
        for attempt in range(attempts):
            try:
                self._meta.create_all(self._engine)
                self._schema_ready = True
                return
            except SQLAlchemyError as exc:
                lost_race = "already exists" in str(exc) or "duplicate key" in str(exc)
                if not lost_race or attempt == attempts - 1:
                    raise self._unavailable(exc) from None

    def __repr__(self) -> str:
        return f"MonitorStore({redact_url(self._url)!r})"

    def _unavailable(self, exc: BaseException) -> ServiceUnavailableError:
        first = str(getattr(exc, "orig", exc)).strip().splitlines()
        return ServiceUnavailableError(
            f"monitor store {redact_url(self._url)} unavailable: {first[0] if first else exc}"
        )

    def close(self) -> None:
        self._engine.dispose()

    def _run(self, statement: Any, *, write: bool = False) -> Any:
        self._ensure_schema()
        try:
            if write:
                with self._engine.begin() as conn:
                    return conn.execute(statement)
            with self._engine.connect() as conn:
                return conn.execute(statement).all()
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None

    # Incidents ------------------------------------------------------------------
    def open_incident(
        self,
        title: str,
        severity: str,
        actor: str,
        *,
        rule: str | None = None,
        subject: str | None = None,
        note: str | None = None,
    ) -> Incident:
        if severity not in SEVERITY_ORDER:
            raise ValidationError(f"one of {', '.join(SEVERITY_ORDER)}", field="severity")
        title = title.strip()
        if not title or len(title) > 256:
            raise ValidationError("1-256 characters", field="title")
        incident_id = new_id("inc")
        now = isoformat(utcnow())
        self._run(
            self.incidents.insert().values(
                id=incident_id,
                title=title,
                severity=severity,
                state="open",
                opened_at=now,
                opened_by=actor,
                closed_at=None,
                resolution=None,
                rule=rule,
                subject=subject,
            ),
            write=True,
        )
        self.add_entry(incident_id, "opened", actor, note or title, {"severity": severity})
        return self.get(incident_id)

    def add_entry(
        self, incident_id: str, kind: str, actor: str, text: str, data: dict[str, Any] | None = None
    ) -> None:
        self._run(
            self.timeline.insert().values(
                incident_id=incident_id,
                time=isoformat(utcnow()),
                kind=kind,
                actor=actor,
                text=text[:4000],
                data=json.dumps(data or {}, sort_keys=True),
            ),
            write=True,
        )

    def raise_severity(self, incident_id: str, severity: str) -> None:
        current = self.get(incident_id)
        if SEVERITY_ORDER[severity] > SEVERITY_ORDER[current.severity]:
            self._run(
                self.incidents.update()
                .where(self.incidents.c.id == incident_id)
                .values(severity=severity),
                write=True,
            )

    def close_incident(self, incident_id: str, actor: str, resolution: str) -> Incident:
        incident = self.get(incident_id)
        if incident.state == "closed":
            raise ValidationError(f"incident {incident_id} is already closed", field="id")
        self._run(
            self.incidents.update()
            .where(self.incidents.c.id == incident_id)
            .values(state="closed", closed_at=isoformat(utcnow()), resolution=resolution),
            write=True,
        )
        self.add_entry(incident_id, "closed", actor, resolution or "closed")
        return self.get(incident_id)

    def _incident(self, row: Any, timeline: list[TimelineEntry]) -> Incident:
        m = row._mapping
        return Incident(
            id=m["id"],
            title=m["title"],
            severity=m["severity"],
            state=m["state"],
            opened_at=parse_iso(m["opened_at"]),
            opened_by=m["opened_by"],
            closed_at=parse_iso(m["closed_at"]) if m["closed_at"] else None,
            resolution=m["resolution"],
            rule=m["rule"],
            subject=m["subject"],
            timeline=timeline,
        )

    def get(self, incident_id: str) -> Incident:
        rows = self._run(self.incidents.select().where(self.incidents.c.id == incident_id))
        if not rows:
            raise NotFoundError(f"no incident {incident_id!r}; see `bastion incident list`")
        entries = self._run(
            self.timeline.select()
            .where(self.timeline.c.incident_id == incident_id)
            .order_by(self.timeline.c.seq)
        )
        timeline = [
            TimelineEntry(
                parse_iso(e._mapping["time"]),
                e._mapping["kind"],
                e._mapping["actor"],
                e._mapping["text"],
                json.loads(e._mapping["data"]),
            )
            for e in entries
        ]
        return self._incident(rows[0], timeline)

    def list_incidents(self, state: str | None = None) -> list[Incident]:
        query = self.incidents.select().order_by(self.incidents.c.opened_at.desc())
        if state is not None:
            if state not in STATES:
                raise ValidationError(f"one of {', '.join(STATES)}", field="state")
            query = query.where(self.incidents.c.state == state)
        return [self._incident(row, []) for row in self._run(query)]

    def find_open(self, rule: str, subject: str) -> Incident | None:
        rows = self._run(
            self.incidents.select().where(
                self.incidents.c.rule == rule,
                self.incidents.c.subject == subject,
                self.incidents.c.state == "open",
            )
        )
        return self._incident(rows[0], []) if rows else None

    # Alerts ---------------------------------------------------------------------
    def record_alert(self, alert: dict[str, Any], incident_id: str | None) -> None:
        self._run(
            self.alerts.insert().values(
                id=alert["id"],
                time=alert["time"],
                rule=alert["rule"],
                severity=alert["severity"],
                subject=alert["subject"],
                value=float(alert["value"]),
                threshold=float(alert["threshold"]),
                incident_id=incident_id,
                data=json.dumps(alert, sort_keys=True),
            ),
            write=True,
        )

    def recent_alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._run(self.alerts.select().order_by(self.alerts.c.time.desc()).limit(limit))
        out = []
        for row in rows:
            data = json.loads(row._mapping["data"])
            data["incident_id"] = row._mapping["incident_id"]
            out.append(data)
        return out

    # Blocklist -------------------------------------------------------------------
    def block(self, address: str, reason: str, incident_id: str | None) -> BlockedClient:
        address = address.strip()
        if not _ADDRESS.fullmatch(address):
            raise ValidationError("not an IP address or host token", field="address")
        existing = self._run(self.blocklist.select().where(self.blocklist.c.address == address))
        if not existing:
            self._run(
                self.blocklist.insert().values(
                    address=address,
                    reason=reason[:256],
                    incident_id=incident_id,
                    created_at=isoformat(utcnow()),
                ),
                write=True,
            )
        return next(b for b in self.blocked() if b.address == address)

    def unblock(self, address: str) -> bool:
        result = self._run(
            self.blocklist.delete().where(self.blocklist.c.address == address), write=True
        )
        return bool(result.rowcount)

    def blocked(self) -> list[BlockedClient]:
        return [
            BlockedClient(
                r._mapping["address"],
                r._mapping["reason"],
                r._mapping["incident_id"],
                parse_iso(r._mapping["created_at"]),
            )
            for r in self._run(self.blocklist.select().order_by(self.blocklist.c.created_at))
        ]

    def blocked_addresses(self) -> frozenset[str]:
        rows = self._run(sa.select(self.blocklist.c.address))
        return frozenset(str(r[0]) for r in rows)


def store_from_settings(settings: Settings) -> MonitorStore:
    """The monitor store in the audit database (``audit.url`` or SQLite under the home)."""
    if settings.audit.url is None:
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return MonitorStore(settings.audit_url, table_prefix=settings.monitor.table_prefix)

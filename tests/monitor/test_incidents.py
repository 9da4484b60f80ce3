"""Incidents, sinks and the playbook: webhook over loopback, stores, model rollback."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from sklearn.dummy import DummyClassifier

from bastion.audit import AuditEvent, open_audit_log
from bastion.core.errors import IntegrityError, NotFoundError, ValidationError
from bastion.core.settings import Settings
from bastion.monitor import (
    MonitorStore,
    Playbook,
    WebhookSink,
    build_monitor,
    compute_signals,
    parse_rules,
    store_from_settings,
)
from bastion.monitor.runner import Alert
from bastion.pipeline import save_model, signer_from_settings
from bastion.serving import create_app
from tests.monitor.conftest import make_settings


class _Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: ClassVar[list[dict[str, Any]]] = []
    handler = type("Handler", (_Recorder,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def _event(
    seq: int, principal: str, status: int, client: str, digest: str, second: int
) -> AuditEvent:
    details = {"status": status, "client": client, "input_sha256": digest, "reasons": []}
    if status == 401:
        details["reasons"] = ["key-unknown"]
    return AuditEvent(
        seq=seq,
        id=f"ev{seq}",
        time=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=second),
        principal=principal,
        action="gateway:request",
        resource="route:POST /v1/predict",
        outcome="allow" if status < 400 else "deny",
        details_json=json.dumps(details),
        prev_hash="0" * 64,
        hash="0" * 64,
    )


def test_signals_separate_scrapers_from_ordinary_users() -> None:
    events = [_event(i, "key:bot", 200, "127.0.0.9", f"{i:064x}", i) for i in range(300)]
    events += [
        _event(1000 + i, "key:alice", 200, "127.0.0.8", "a" * 64, i * i % 97) for i in range(30)
    ]
    events += [_event(2000 + i, "anonymous", 401, "127.0.0.7", "", i) for i in range(25)]
    signals = compute_signals(events, [_event(5000, "key:alice", 200, "127.0.0.8", "b" * 64, 1)])
    score = signals.get("extraction_score")
    assert score["key:bot"] > 0.9 and score["key:alice"] < 0.05
    assert signals.get("unique_input_ratio")["key:alice"] == pytest.approx(1 / 30)
    assert signals.get("auth_failures") == {"127.0.0.7": 25.0}
    change = signals.get("traffic_change")
    assert change["key:bot"] == 301.0 and "key:alice" not in change  # too few to call a spike
    assert len(signals.evidence["client:127.0.0.7"]) == 20


def test_webhook_receives_alert_json_over_loopback(
    settings: Settings, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    audit = open_audit_log(settings)
    for _ in range(25):
        audit.append(
            principal="anonymous",
            action="gateway:request",
            resource="route:POST /v1/predict",
            outcome="deny",
            details={"status": 401, "client": "127.0.0.5", "reasons": ["key-wrong"]},
        )
    monitor = build_monitor(settings, audit=audit, webhook=url)
    evaluation = monitor.evaluate()
    assert [a.rule for a in evaluation.alerts] == ["credential-stuffing"]
    assert len(received) == 1
    payload = received[0]
    assert payload["type"] == "bastion.alert"
    assert payload["alert"]["subject"] == "client:127.0.0.5"
    assert payload["incident_id"] == evaluation.incidents[0]
    assert len(payload["alert"]["audit_events"]) == 20


def test_a_dead_webhook_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    from tests.services import free_port

    sink = WebhookSink(f"http://127.0.0.1:{free_port()}/", timeout=1)
    alert = Alert("alr-1", datetime.now(UTC), "r", "requests", "low", "principal:x", 1, 0, ">=", 60)
    sink.deliver(alert, None)
    assert sink.failures == 1
    assert "webhook delivery" in caplog.text


def _incident_lifecycle(store: MonitorStore) -> None:
    opened = store.open_incident("suspicious scraping", "medium", "user:ann")
    store.add_entry(
        opened.id,
        "alert",
        "service:monitor",
        "x",
        {"alert_id": "alr-9", "audit_events": ["e1", "e2"]},
    )
    store.raise_severity(opened.id, "high")
    store.raise_severity(opened.id, "low")  # never lowers
    shown = store.get(opened.id)
    assert (
        shown.severity == "high"
        and shown.alerts == ["alr-9"]
        and shown.audit_events == ["e1", "e2"]
    )
    assert [i.id for i in store.list_incidents("open")] == [opened.id]
    closed = store.close_incident(opened.id, "user:ann", "key revoked")
    assert closed.state == "closed" and closed.resolution == "key revoked"
    assert [e.kind for e in closed.timeline] == ["opened", "alert", "closed"]
    with pytest.raises(ValidationError, match="already closed"):
        store.close_incident(opened.id, "user:ann", "again")
    with pytest.raises(NotFoundError):
        store.get("inc-missing")
    with pytest.raises(ValidationError, match="severity"):
        store.open_incident("x", "apocalyptic", "user:ann")
    store.block("127.0.0.42", "test", None)
    assert store.blocked_addresses() == frozenset({"127.0.0.42"})
    with pytest.raises(ValidationError, match="address"):
        store.block("127.0.0.1; DROP TABLE", "x", None)
    assert store.unblock("127.0.0.42") and not store.unblock("127.0.0.42")


def test_incident_lifecycle_sqlite(settings: Settings) -> None:
    store = store_from_settings(settings)
    _incident_lifecycle(store)
    store.close()


def test_incident_lifecycle_postgres(postgres_url: str) -> None:
    prefix = f"mon_{uuid.uuid4().hex[:8]}"
    store = MonitorStore(postgres_url, table_prefix=prefix)
    try:
        _incident_lifecycle(store)
    finally:
        import sqlalchemy as sa

        engine = sa.create_engine(postgres_url)
        with engine.begin() as conn:
            for table in ("incidents", "timeline", "alerts", "blocklist"):
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {prefix}_{table}"))
        engine.dispose()
        store.close()


def _bundle(settings: Settings, run: str, label: str, started: str) -> Path:
    model = DummyClassifier(strategy="constant", constant=label).fit(["a", "b"], ["v1", "v2"])
    directory = settings.models_dir / "sentiment" / run
    save_model(
        model, directory, lineage={"started_at": started}, signer=signer_from_settings(settings)
    )
    return directory


def test_rollback_switches_the_served_model_to_the_previous_signed_version(tmp_path: Path) -> None:
    base = make_settings(tmp_path / "home")
    old = _bundle(base, "run-1", "v1", "2026-01-01T00:00:00Z")
    new = _bundle(base, "run-2", "v2", "2026-02-01T00:00:00Z")
    settings = make_settings(tmp_path / "home", adapter="skops", model_path=new)
    keys = __import__(
        "bastion.serving", fromlist=["key_store_from_settings"]
    ).key_store_from_settings(settings)
    key = keys.create("app", ["predict"]).plaintext
    headers = {"Authorization": f"Bearer {key}"}
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        first = client.post("/v1/predict", json={"inputs": ["hi"]}, headers=headers)
        assert first.json()["predictions"][0]["label"] == "v2"
        store = store_from_settings(settings)
        audit = open_audit_log(settings)
        incident = store.open_incident("bad model release", "high", "user:oncall")
        playbook = Playbook(settings, store, audit)
        result = playbook.run(incident.id, "rollback-model", "sentiment", "user:oncall")
        assert result.detail["from"] == "run-2" and result.detail["to"] == "run-1"
        after = client.post("/v1/predict", json={"inputs": ["hi"]}, headers=headers)
        assert after.json()["predictions"][0]["label"] == "v1"
        with pytest.raises(ValidationError, match="oldest"):
            playbook.run(incident.id, "rollback-model", "sentiment", "user:oncall")
        assert [e.action for e in audit.query(action="incident:rollback-model")]
        assert store.get(incident.id).timeline[-1].data["to"] == "run-1"
    assert old.is_dir()


def test_rollback_refuses_a_tampered_previous_version(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home")
    old = _bundle(settings, "run-1", "v1", "2026-01-01T00:00:00Z")
    _bundle(settings, "run-2", "v2", "2026-02-01T00:00:00Z")
    (old / "model.skops").write_bytes((old / "model.skops").read_bytes() + b"x")
    store = store_from_settings(settings)
    audit = open_audit_log(settings)
    incident = store.open_incident("release", "high", "user:oncall")
    with pytest.raises(IntegrityError):
        Playbook(settings, store, audit).run(
            incident.id, "rollback-model", "sentiment", "user:oncall"
        )
    assert not (settings.home / "monitor" / "served-model.json").exists()


def test_actions_on_closed_or_unknown_incidents_are_refused(settings: Settings) -> None:
    store = store_from_settings(settings)
    audit = open_audit_log(settings)
    playbook = Playbook(settings, store, audit)
    with pytest.raises(NotFoundError):
        playbook.run("inc-nope", "block-client", "127.0.0.3", "user:x")
    incident = store.open_incident("x", "low", "user:x")
    with pytest.raises(ValidationError, match="action"):
        playbook.run(incident.id, "delete-everything", "x", "user:x")
    store.close_incident(incident.id, "user:x", "done")
    with pytest.raises(ValidationError, match="closed"):
        playbook.run(incident.id, "block-client", "127.0.0.3", "user:x")
    with pytest.raises(NotFoundError):
        Playbook(settings, store, audit).revoke_key("nobody")


def test_data_rules_use_configured_drift(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    from bastion.monitor import profile_reference

    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(size=3000), "y": rng.normal(size=3000)})
    profile_reference(reference).save(tmp_path / "ref.json")
    reference.assign(x=reference["x"] + 2).to_csv(tmp_path / "cur.csv", index=False)
    settings = make_settings(
        tmp_path / "home",
        monitor={"reference_profile": tmp_path / "ref.json", "current_data": tmp_path / "cur.csv"},
    )
    monitor = build_monitor(settings)
    monitor.rules = parse_rules(
        "rules:\n  - {name: drift, metric: drift_share, window: 1h, threshold: 0.5}\n"
    )
    evaluation = monitor.evaluate()
    assert [(a.rule, a.subject, a.value) for a in evaluation.alerts] == [
        ("drift", "dataset:current", 0.5)
    ]

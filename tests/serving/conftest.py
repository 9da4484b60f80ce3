"""Fixtures for the gateway: settings in a temp home, an app, a client and a key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bastion.audit import AuditEvent, open_audit_log
from bastion.core.settings import Settings, load_settings
from bastion.secrets import keyring_from_settings
from bastion.serving import create_app, key_store_from_settings


def make_settings(home: Path, **serving: Any) -> Settings:
    """Settings with a private home and generous limits unless overridden."""
    values: dict[str, Any] = {
        "rate_limits_principal": ["1000/second"],
        "rate_limits_address": ["1000/second"],
        "audit_flush_seconds": 0.05,
    }
    values.update(serving)
    settings = load_settings(home=home, serving=values)
    keyring_from_settings(settings).init()
    return settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def api_key(settings: Settings) -> str:
    store = key_store_from_settings(settings)
    key = store.create("tester", ["predict", "guard"]).plaintext
    store.close()
    return key


def audit_events(app: FastAPI, settings: Settings) -> list[AuditEvent]:
    """Flush the app's writer and read the request events back from the real log."""
    writer = app.state.gateway.writer
    assert writer is not None and writer.flush(10)
    with open_audit_log(settings) as log:
        return log.query(action="gateway:request")


def last_event(app: FastAPI, settings: Settings) -> AuditEvent:
    events = audit_events(app, settings)
    assert events, "no audit event was written"
    return events[-1]

"""Fixtures for the monitor: settings in a temp home, a gateway app with keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bastion.core.settings import Settings, load_settings
from bastion.secrets import keyring_from_settings


def make_settings(home: Path, *, monitor: dict[str, Any] | None = None, **serving: Any) -> Settings:
    """Generous rate limits, a fast audit writer, the blocklist read on every request."""
    values: dict[str, Any] = {
        "rate_limits_principal": ["100000/second"],
        "rate_limits_address": ["100000/second"],
        "audit_flush_seconds": 0.05,
        "trusted_proxies": ["testclient"],
    }
    values.update(serving)
    settings = load_settings(
        home=home,
        serving=values,
        monitor={"blocklist_refresh_seconds": 0, **(monitor or {})},
    )
    keyring_from_settings(settings).init()
    return settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")

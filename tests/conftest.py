"""Shared fixtures: isolated Bastion home per test and the real services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own directory with no BASTION_* leaking in from the shell."""
    import os

    for name in list(os.environ):
        if name.startswith("BASTION_") and name not in {
            "BASTION_REQUIRE_SERVICES",
            "BASTION_TEST_POSTGRES_URL",
            "BASTION_TEST_REDIS_URL",
        }:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return services.postgres_url()


@pytest.fixture(scope="session")
def redis_url() -> str:
    return services.redis_url()


@pytest.fixture(scope="session")
def openbao() -> Iterator[services.OpenBao]:
    with services.openbao_dev_server() as server:
        yield server


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (read-only public data sets)."""
    path = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path

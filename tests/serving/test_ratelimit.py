"""Rate limits: memory, Redis across two real gateway processes, store outages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from bastion.audit import open_audit_log
from bastion.serving import create_app, key_store_from_settings
from tests.services import free_port
from tests.serving.conftest import audit_events, make_settings


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_principal_limit_429_with_headers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "h", rate_limits_principal=["3/minute", "100/day"])
    key = key_store_from_settings(settings).create("k", ["predict"]).plaintext
    with TestClient(create_app(settings)) as client:
        statuses = []
        for _ in range(5):
            response = client.post("/v1/predict", json={"inputs": ["x"]}, headers=_auth(key))
            statuses.append(response.status_code)
        assert statuses == [200, 200, 200, 429, 429]
        assert response.headers["ratelimit-limit"] == "3"
        assert response.headers["ratelimit-remaining"] == "0"
        assert int(response.headers["retry-after"]) >= 1
        assert "rate-limited:principal" in response.json()["error"]["reasons"]


def test_address_limit_applies_before_authentication(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "h", rate_limits_address=["2/minute"])
    with TestClient(create_app(settings)) as client:
        codes = [
            client.post(
                "/v1/predict", json={"inputs": ["x"]}, headers=_auth("bsk_guess")
            ).status_code
            for _ in range(3)
        ]
        assert codes == [401, 401, 429]


def test_cost_by_request_size(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "h", rate_limits_principal=["10/minute"], rate_limit_cost_bytes=100
    )
    key = key_store_from_settings(settings).create("k", ["predict"]).plaintext
    with TestClient(create_app(settings)) as client:
        big = {"inputs": ["y" * 450]}  # about 470 bytes: costs 5
        assert client.post("/v1/predict", json=big, headers=_auth(key)).status_code == 200
        assert client.post("/v1/predict", json=big, headers=_auth(key)).status_code == 200
        assert client.post("/v1/predict", json=big, headers=_auth(key)).status_code == 429


@pytest.mark.parametrize("fail_open", [False, True])
def test_unreachable_store_fails_by_policy_and_is_audited(tmp_path: Path, fail_open: bool) -> None:
    settings = make_settings(tmp_path / "h", redis_url="redis://127.0.0.1:1/0", fail_open=fail_open)
    key = key_store_from_settings(settings).create("k", ["predict"]).plaintext
    app = create_app(settings)
    with TestClient(app) as client:
        response = client.post("/v1/predict", json={"inputs": ["x"]}, headers=_auth(key))
        assert response.status_code == (200 if fail_open else 503)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and not ready.json()["checks"]["rate_limit_store"]
        event = audit_events(app, settings)[-1]
    assert "ratelimit-store-down" in event.details["reasons"]
    assert event.outcome == ("allow" if fail_open else "deny")


# Two real processes sharing real Redis ---------------------------------------------


def _start_gateway(home: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bastion.serving.server:app_factory",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-server-header",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, env=env, cwd=home.parent)


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gateway on port {port} exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"gateway on port {port} did not start")


@pytest.fixture(scope="module")
def two_gateways(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[dict[str, Any]]:
    """Two gateway processes sharing one home (SQLite key store, audit) and one Redis."""
    home = tmp_path_factory.mktemp("gateways") / "home"
    settings = make_settings(home, redis_url=redis_url)
    env = {
        **os.environ,
        "BASTION_HOME": str(home),
        "BASTION_SERVING__REDIS_URL": redis_url,
        "BASTION_SERVING__RATE_LIMITS_PRINCIPAL": json.dumps(["10/minute"]),
        "BASTION_SERVING__RATE_LIMITS_ADDRESS": json.dumps(["10000/minute"]),
        "BASTION_SERVING__AUDIT_FLUSH_SECONDS": "5",
    }
    ports = [free_port(), free_port()]
    processes = [_start_gateway(home, port, env) for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_ready(port, process)
        yield {"ports": ports, "settings": settings, "processes": processes}
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _new_key(gateways: dict[str, Any]) -> tuple[str, str]:
    """A fresh key (unique name, so Redis counters never collide between tests or runs)."""
    name = f"burst-{uuid.uuid4().hex[:10]}"
    return name, key_store_from_settings(gateways["settings"]).create(name, ["predict"]).plaintext


@pytest.mark.redis
def test_two_processes_admit_exactly_the_limit(two_gateways: dict[str, Any]) -> None:
    ports = two_gateways["ports"]
    _name, key = _new_key(two_gateways)

    def hit(index: int) -> int:
        port = ports[index % 2]
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/predict",
            json={"inputs": ["burst"]},
            headers=_auth(key),
            timeout=20,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(hit, range(30)))
    assert codes.count(200) == 10, codes
    assert codes.count(429) == 20, codes


@pytest.mark.redis
def test_revoked_key_refused_by_the_other_process_within_a_second(
    two_gateways: dict[str, Any],
) -> None:
    first, second = two_gateways["ports"]
    name, key = _new_key(two_gateways)
    url = "http://127.0.0.1:{}/v1/predict"
    ok = httpx.post(url.format(first), json={"inputs": ["a"]}, headers=_auth(key), timeout=20)
    assert ok.status_code == 200
    key_store_from_settings(two_gateways["settings"]).revoke(name)
    refused = httpx.post(url.format(second), json={"inputs": ["a"]}, headers=_auth(key), timeout=20)
    assert refused.status_code == 401
    assert "key-revoked" in refused.json()["error"]["reasons"]
    again = httpx.post(url.format(first), json={"inputs": ["a"]}, headers=_auth(key), timeout=20)
    assert again.status_code == 401


@pytest.mark.redis
def test_sigterm_drains_queued_audit_events(two_gateways: dict[str, Any]) -> None:
    """Audit flushes every 5 s here, so these events are still queued when SIGTERM arrives."""
    port, process = two_gateways["ports"][0], two_gateways["processes"][0]
    name, key = _new_key(two_gateways)
    for _ in range(5):
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/predict",
            json={"inputs": ["z"]},
            headers=_auth(key),
            timeout=20,
        )
        assert response.status_code == 200
    process.terminate()
    # uvicorn shuts down gracefully, then re-raises SIGTERM (exit status -15).
    assert process.wait(timeout=30) in (0, -15)
    with open_audit_log(two_gateways["settings"]) as log:
        assert len(log.query(principal=f"key:{name}", action="gateway:request")) == 5

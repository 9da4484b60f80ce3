"""The predict fast lane and the direct predict path answer exactly as the FastAPI route does.

Three ways through the same app are compared request by request: the lane in
front of the whole app (default), the inner direct path (lane off) and the
plain FastAPI route (both off).  Statuses, bodies, every response header and
every audit event must be identical; only generated request ids and latencies
may differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient

from bastion.core.settings import Settings, load_settings
from bastion.monitor.store import store_from_settings
from bastion.secrets import keyring_from_settings
from bastion.serving import create_app, key_store_from_settings
from bastion.serving import fastpath as fastpath_module
from bastion.serving.adapters import UpstreamError, VaderAdapter
from bastion.serving.app import GatewayApp
from bastion.serving.guardchain import NoGuards, PassVerdict

from .conftest import audit_events, make_settings


def _served(app: GatewayApp) -> int:
    """How many requests the app's fast lane answered itself."""
    assert app.lane is not None
    return app.lane.served


def _settings(home: Path, **serving: Any) -> Settings:
    """Like ``make_settings``, with the monitor's blocklist cached for the whole test."""
    values: dict[str, Any] = {"audit_flush_seconds": 0.05, **serving}
    settings = load_settings(home=home, serving=values, monitor={"blocklist_refresh_seconds": 3600})
    keyring_from_settings(settings).init()
    return settings


GOOD = {"inputs": ["I love this product!"]}
MODES = ("lane", "direct", "route")


class MarkerGuards(NoGuards):
    """Blocks input containing BLOCK-IN and model output is never text (VADER)."""

    empty = False

    def scan_input(self, text: str, context: Any = None) -> Any:
        verdict = PassVerdict("input", text)
        if "BLOCK-IN" in text:
            return _Blocked(text)
        return verdict


class _Blocked(PassVerdict):
    def __init__(self, text: str) -> None:
        super().__init__("input", text, ("injection",))

    @property
    def blocked(self) -> bool:
        return True


class MarkerAdapter(VaderAdapter):
    """VADER, except that FAIL-UP fails upstream and CRASH raises a bug."""

    async def predict_texts(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        if any("FAIL-UP" in text for text in texts):
            raise UpstreamError("upstream said no")
        if any("CRASH" in text for text in texts):
            raise RuntimeError("a bug")
        return await super().predict_texts(texts)


def _requests(key: str, guard_only: str) -> list[tuple[dict[str, str], Any]]:
    json = {"Content-Type": "application/json"}
    return [
        ({}, GOOD),
        ({"X-API-Key": "bsk_wrong"}, GOOD),
        ({"Authorization": "Basic abc"}, GOOD),
        ({"Authorization": "Bearer not-a-token"}, GOOD),
        ({"X-API-Key": guard_only}, GOOD),
        ({"X-API-Key": key, "X-Request-ID": "caller-id-1"}, GOOD),
        ({"Authorization": f"Bearer {key}"}, {"inputs": ["fine", "also fine"]}),
        ({"X-API-Key": key}, {"instances": [{"a": 1}]}),
        ({"X-API-Key": key}, {"inputs": ["x" * 3000]}),
        ({"X-API-Key": key}, {"inputs": ["fine"], "extra": 1}),
        ({"X-API-Key": key}, {"inputs": ["fine"] * 9}),
        ({"X-API-Key": key, "Content-Type": "text/plain"}, b'{"inputs": ["fine"]}'),
        ({"X-API-Key": key, **json}, b'{"inputs": ["' + b"y" * 5000 + b'"]}'),
        ({"X-API-Key": key, **json}, b'{"inputs": ["unterminated"'),
        ({"X-API-Key": key}, {"inputs": ["please BLOCK-IN this"]}),
        ({"X-API-Key": key}, {"inputs": ["FAIL-UP now"]}),
        ({"X-API-Key": key}, {"inputs": ["CRASH now"]}),
        ({"X-API-Key": key}, GOOD),
        ({"X-API-Key": key}, GOOD),
        ({"X-API-Key": key}, GOOD),
        ({"X-API-Key": key}, GOOD),
        ({}, GOOD),
        ({"X-API-Key": key}, GOOD),
    ]


def _normal_headers(headers: Any, supplied: str | None) -> list[tuple[str, str]]:
    kept = []
    for name, value in headers.multi_items():
        if name == "date":
            continue
        if name == "x-request-id" and value != supplied:
            value = "<generated>"
        kept.append((name, value))
    return kept


def _exchange(home: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    settings = _settings(
        home,
        rate_limits_principal=["9/hour"],
        rate_limits_address=["19/hour"],
        max_body_bytes=4096,
        max_batch_items=8,
        max_text_chars=2000,
    )
    store = key_store_from_settings(settings)
    key = store.create("tester", ["predict"]).plaintext
    guard_only = store.create("scanner", ["guard"]).plaintext
    store.close()
    app = create_app(settings, guards=MarkerGuards(), adapter=MarkerAdapter())
    lane = app.lane
    if mode != "lane":
        app.lane = None
    if mode == "route":
        monkeypatch.setattr(fastpath_module, "PREDICT_PATH", "/nowhere")
    out = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for headers, body in _requests(key, guard_only):
            if isinstance(body, bytes):
                response = client.post("/v1/predict", content=body, headers=headers)
            else:
                response = client.post("/v1/predict", json=body, headers=headers)
            data = response.json()
            if "error" in data:
                data["error"].pop("request_id")
            data.pop("request_id", None)
            supplied = headers.get("X-Request-ID")
            out.append((response.status_code, data, _normal_headers(response.headers, supplied)))
        events = audit_events(app, settings)
    monkeypatch.undo()
    assert len(events) == len(out)
    audited = []
    for event in events:
        details = dict(event.details)
        assert details.pop("latency_ms") >= 0
        if details["request_id"] != "caller-id-1":
            details["request_id"] = "<generated>"
        audited.append((event.principal, event.action, event.resource, event.outcome, details))
    assert lane is not None
    served = lane.served
    return [*zip(out, audited, strict=True), ("lane served", served if mode == "lane" else 0)]


def test_lane_direct_path_and_route_give_identical_answers_headers_and_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = {mode: _exchange(tmp_path / mode, mode, monkeypatch) for mode in MODES}
    *lane, lane_served = runs["lane"]
    *direct, _ = runs["direct"]
    *route, _ = runs["route"]
    assert lane == route
    assert direct == route
    statuses = [status for (status, *_), _audit in route]
    assert statuses[:8] == [401, 401, 401, 401, 403, 200, 200, 422]
    assert {413, 415, 422, 429, 500, 502} <= set(statuses)
    reasons = {reason for _response, audit in route for reason in audit[4]["reasons"]}
    assert {"rate-limited:principal", "rate-limited:address", "guard-blocked"} <= reasons
    # The lane answered the admitted, well-formed ones itself: three good requests, the
    # instances the model cannot use, the guard block, the upstream failure and the crash.
    assert lane_served[1] == 6


def test_valid_predict_requests_skip_the_route_and_invalid_ones_take_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = fastapi.routing.run_endpoint_function

    async def counting(**kwargs: Any) -> Any:
        calls.append("route")
        return await original(**kwargs)

    monkeypatch.setattr(fastapi.routing, "run_endpoint_function", counting)
    settings = _settings(tmp_path / "home")
    store = key_store_from_settings(settings)
    key = store.create("tester", ["predict"]).plaintext
    store.close()
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        ok = client.post("/v1/predict", json=GOOD, headers={"X-API-Key": key})
        assert ok.status_code == 200 and ok.json()["predictions"]
        assert calls == []
        assert _served(app) == 1
        bad = client.post("/v1/predict", json={"inputs": "not a list"}, headers={"X-API-Key": key})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "inputs"
        assert _served(app) == 1
        metrics = client.get("/metrics").text
    assert 'bastion_gateway_requests_total{method="POST",route="/v1/predict",status="200"} 1.0' in (
        metrics
    )


def test_revoked_key_is_refused_on_the_very_next_request(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    store = key_store_from_settings(settings)
    key = store.create("tester", ["predict"]).plaintext
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/v1/predict", json=GOOD, headers={"X-API-Key": key}).status_code == 200
        store.revoke("tester")
        refused = client.post("/v1/predict", json=GOOD, headers={"X-API-Key": key})
    store.close()
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "key-revoked"
    assert _served(app) == 1


def test_blocked_client_is_refused_although_its_key_is_valid(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home")
    store = key_store_from_settings(settings)
    key = store.create("tester", ["predict"]).plaintext
    store.close()
    app = create_app(settings)
    store_from_settings(settings).block("testclient", "test", None)
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(3):  # first on a stale cache (re-read), then on a fresh one
            refused = client.post("/v1/predict", json=GOOD, headers={"X-API-Key": key})
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "client-blocked"
    assert _served(app) == 0


def test_rate_limits_stay_exact_across_lane_and_stack(tmp_path: Path) -> None:
    """One principal, alternating the lane (API key) and the stack (its access token)."""
    settings = _settings(
        tmp_path / "home", rate_limits_principal=["5/hour"], rate_limits_address=["1000/hour"]
    )
    store = key_store_from_settings(settings)
    key = store.create("tester", ["predict"]).plaintext
    store.close()
    app = create_app(settings)
    statuses = []
    with TestClient(app, raise_server_exceptions=False) as client:
        token = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "tester", "client_secret": key},
        ).json()["access_token"]
        for index in range(8):
            credential = key if index % 2 == 0 else token
            headers = {"Authorization": f"Bearer {credential}"}
            statuses.append(client.post("/v1/predict", json=GOOD, headers=headers).status_code)
    assert statuses == [200] * 5 + [429] * 3
    assert _served(app) == 3


def test_an_error_inside_the_lane_hands_the_request_to_the_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path / "home")
    store = key_store_from_settings(settings)
    key = store.create("tester", ["predict"]).plaintext
    store.close()
    app = create_app(settings)

    def broken(*_args: Any) -> None:
        raise RuntimeError("a bug in the lane")

    monkeypatch.setattr(app.state.gateway.limiter, "admit_now", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/predict", json=GOOD, headers={"X-API-Key": key})
        events = audit_events(app, settings)
    assert response.status_code == 200 and response.json()["predictions"]
    assert response.headers["content-security-policy"] and response.headers["ratelimit-limit"]
    assert _served(app) == 0
    assert [event.details["status"] for event in events] == [200]

"""The direct predict path answers exactly as the FastAPI route does, and is taken."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient

from bastion.serving import create_app, key_store_from_settings
from bastion.serving import fastpath as fastpath_module

from .conftest import audit_events, make_settings

GOOD = {"inputs": ["I love this product!"]}
HEADER_NAMES = (
    "content-type",
    "www-authenticate",
    "ratelimit-limit",
    "ratelimit-remaining",
    "retry-after",
    "content-security-policy",
    "cache-control",
)


def _exchange(home: Path) -> list[tuple[int, Any, dict[str, str | None], list[str]]]:
    settings = make_settings(home, rate_limits_principal=["3/hour"])
    store = key_store_from_settings(settings)
    key = store.create("tester", ["predict"]).plaintext
    guard_only = store.create("scanner", ["guard"]).plaintext
    store.close()
    app = create_app(settings)
    requests: list[tuple[dict[str, str], Any]] = [
        ({}, GOOD),
        ({"X-API-Key": "bsk_wrong"}, GOOD),
        ({"Authorization": "Basic abc"}, GOOD),
        ({"X-API-Key": guard_only}, GOOD),
        ({"X-API-Key": key}, GOOD),
        ({"X-API-Key": key}, {"instances": [{"a": 1}]}),
        ({"X-API-Key": key}, {"inputs": ["x" * 100_000]}),
        ({"X-API-Key": key}, {"inputs": ["fine"], "extra": 1}),
        ({"X-API-Key": key}, GOOD),
        ({"X-API-Key": key}, GOOD),
    ]
    out = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for headers, body in requests:
            response = client.post("/v1/predict", json=body, headers=headers)
            data = response.json()
            if "error" in data:
                data["error"].pop("request_id")
            data.pop("request_id", None)
            kept = {name: response.headers.get(name) for name in HEADER_NAMES}
            out.append((response.status_code, data, kept, []))
        events = audit_events(app, settings)
    reasons = [list(event.details["reasons"]) for event in events]
    assert len(reasons) == len(out)
    return [(s, d, h, r) for (s, d, h, _), r in zip(out, reasons, strict=True)]


def test_fast_path_and_route_give_identical_answers_and_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _exchange(tmp_path / "fast")
    monkeypatch.setattr(fastpath_module, "PREDICT_PATH", "/nowhere")
    routed = _exchange(tmp_path / "routed")
    assert fast == routed
    statuses = [status for status, *_ in fast]
    assert statuses[:5] == [401, 401, 401, 403, 200]
    assert 429 in statuses


def test_valid_predict_requests_skip_the_route_and_invalid_ones_take_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = fastapi.routing.run_endpoint_function

    async def counting(**kwargs: Any) -> Any:
        calls.append("route")
        return await original(**kwargs)

    monkeypatch.setattr(fastapi.routing, "run_endpoint_function", counting)
    settings = make_settings(tmp_path / "home")
    store = key_store_from_settings(settings)
    key = store.create("tester", ["predict"]).plaintext
    store.close()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        ok = client.post("/v1/predict", json=GOOD, headers={"X-API-Key": key})
        assert ok.status_code == 200 and ok.json()["predictions"]
        assert calls == []
        bad = client.post("/v1/predict", json={"inputs": "not a list"}, headers={"X-API-Key": key})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "inputs"
        metrics = client.get("/metrics").text
    assert 'route="/v1/predict"' in metrics

"""Body limits, content types, strict schemas, headers, errors without traces, audit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bastion.core.settings import Settings
from bastion.serving import create_app
from tests.serving.conftest import audit_events, last_event, make_settings


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_three_megabyte_body_is_413(
    client: TestClient, app: FastAPI, settings: Settings, api_key: str
) -> None:
    body = b'{"inputs": ["' + b"a" * 3_000_000 + b'"]}'
    response = client.post(
        "/v1/predict", content=body, headers={**_auth(api_key), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body-too-large"
    event = last_event(app, settings)
    assert event.outcome == "deny" and "body-too-large" in event.details["reasons"]


def test_chunked_body_is_cut_at_the_limit(client: TestClient, api_key: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"inputs": ["'
        for _ in range(40):
            yield b"b" * 65_536
        yield b'"]}'

    response = client.post(
        "/v1/predict",
        content=chunks(),
        headers={**_auth(api_key), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_malformed_json_is_422(client: TestClient, api_key: str) -> None:
    response = client.post(
        "/v1/predict",
        content=b'{"inputs": ["x"',
        headers={**_auth(api_key), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "body"


def test_wrong_content_type_is_415(
    client: TestClient, app: FastAPI, settings: Settings, api_key: str
) -> None:
    response = client.post(
        "/v1/predict", content=b"inputs=x", headers={**_auth(api_key), "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert last_event(app, settings).details["status"] == 415


def test_strict_schema_names_the_field(client: TestClient, api_key: str) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"inputs": [1]}, "inputs.0"),
        ({"inputs": ["ok"], "extra": 1}, "extra"),
        ({"inputs": []}, "inputs"),
        ({"inputs": "not a list"}, "inputs"),
    ]
    for body, field in cases:
        response = client.post("/v1/predict", json=body, headers=_auth(api_key))
        assert response.status_code == 422, body
        assert response.json()["error"]["field"] == field, response.json()
    both = client.post(
        "/v1/predict", json={"inputs": ["a"], "instances": [{"x": 1}]}, headers=_auth(api_key)
    )
    assert both.status_code == 422


def test_batch_and_text_limits(tmp_path: Any) -> None:
    settings = make_settings(tmp_path / "h", max_batch_items=2, max_text_chars=10)
    from bastion.serving import key_store_from_settings

    key = key_store_from_settings(settings).create("k", ["predict"]).plaintext
    with TestClient(create_app(settings)) as client:
        many = client.post("/v1/predict", json={"inputs": ["a", "b", "c"]}, headers=_auth(key))
        assert many.status_code == 422 and many.json()["error"]["field"] == "inputs"
        long = client.post("/v1/predict", json={"inputs": ["a" * 11]}, headers=_auth(key))
        assert long.status_code == 422 and long.json()["error"]["field"] == "inputs.0"
        batch = client.post("/v1/predict", json={"inputs": ["good", "bad"]}, headers=_auth(key))
        assert [p["label"] for p in batch.json()["predictions"]] == ["positive", "negative"]


def test_security_headers_and_request_id(client: TestClient, api_key: str) -> None:
    response = client.post(
        "/v1/predict",
        json={"inputs": ["fine"]},
        headers={**_auth(api_key), "X-Request-ID": "trace-123"},
    )
    headers = response.headers
    assert headers["x-request-id"] == "trace-123"
    assert headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    assert "server" not in headers
    assert "strict-transport-security" not in headers  # no TLS configured
    assert "access-control-allow-origin" not in headers
    bogus = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert bogus.headers["x-request-id"] != "bad id\twith spaces"


def test_cors_only_for_configured_origins(tmp_path: Any) -> None:
    settings = make_settings(tmp_path / "h", cors_origins=["https://app.example"])
    with TestClient(create_app(settings)) as client:
        allowed = client.options(
            "/v1/predict",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-credentials" not in allowed.headers
        other = client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_crash_is_json_500_without_trace(tmp_path: Any) -> None:
    class Broken:
        kind, name, text_output = "broken", "broken", False

        async def predict_texts(self, texts: Any) -> Any:
            raise RuntimeError("secret internal detail")

        async def ready(self) -> bool:
            return True

        async def aclose(self) -> None:
            return None

    settings = make_settings(tmp_path / "h")
    from bastion.serving import key_store_from_settings

    key = key_store_from_settings(settings).create("k", ["predict"]).plaintext
    app = create_app(settings, adapter=Broken())
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/predict", json={"inputs": ["x"]}, headers=_auth(key))
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal-error"
        assert "secret internal detail" not in response.text
        assert "Traceback" not in response.text
    event = last_event(app, settings)
    assert event.outcome == "error" and "internal-error" in event.details["reasons"]


def test_unknown_route_is_json_404_and_audited(
    client: TestClient, app: FastAPI, settings: Settings
) -> None:
    response = client.get("/admin/../etc/passwd")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not-found"
    assert last_event(app, settings).outcome == "deny"


def test_probes_and_metrics(client: TestClient, api_key: str) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and all(ready.json()["checks"].values())
    client.post("/v1/predict", json={"inputs": ["x"]})
    text = client.get("/metrics").text
    assert 'bastion_gateway_refusals_total{reason="key-missing"} 1.0' in text
    assert "bastion_gateway_request_seconds_bucket" in text


def test_one_audit_event_per_request_and_none_lost_on_shutdown(tmp_path: Any) -> None:
    settings = make_settings(tmp_path / "h", audit_flush_seconds=5.0, audit_batch_size=1000)
    from bastion.serving import key_store_from_settings

    key = key_store_from_settings(settings).create("k", ["predict"]).plaintext
    app = create_app(settings)
    with TestClient(app) as client:
        for index in range(25):
            client.post("/v1/predict", json={"inputs": [f"text {index}"]}, headers=_auth(key))
        client.post("/v1/predict", json={"inputs": ["x"]})
    # The context manager ran the shutdown: everything queued must be on disk now.
    from bastion.audit import open_audit_log

    with open_audit_log(settings) as log:
        events = log.query(action="gateway:request")
        assert len(events) == 26
        assert log.verify().ok


def test_raw_text_only_when_configured(tmp_path: Any) -> None:
    settings = make_settings(tmp_path / "h", audit_raw_text=True)
    from bastion.serving import key_store_from_settings

    key = key_store_from_settings(settings).create("k", ["predict"]).plaintext
    app = create_app(settings)
    with TestClient(app) as client:
        client.post("/v1/predict", json={"inputs": ["remember me"]}, headers=_auth(key))
        assert "remember me" in audit_events(app, settings)[-1].details["raw_text"]

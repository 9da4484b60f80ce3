"""Every refusal path of authentication and authorization: status, reason, audit event."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bastion.core.crypto import key_id
from bastion.core.settings import Settings
from bastion.serving import key_store_from_settings
from tests.serving.conftest import last_event

BODY = {"inputs": ["what a lovely day"]}


def _b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(settings: Settings, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": settings.serving.jwt_issuer,
        "aud": settings.serving.jwt_audience,
        "sub": "key:tester",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "scope": "predict guard",
    }
    claims.update(overrides)
    return claims


def _token(app: FastAPI, settings: Settings, **overrides: object) -> str:
    """A token signed with the gateway's real key but with chosen claims."""
    issuer = app.state.gateway.issuer
    return jwt.encode(
        _claims(settings, **overrides), issuer._key, algorithm="EdDSA", headers={"kid": issuer.kid}
    )


def _refused(
    client: TestClient,
    app: FastAPI,
    settings: Settings,
    headers: dict[str, str],
    reason: str,
    status: int = 401,
) -> None:
    response = client.post("/v1/predict", json=BODY, headers=headers)
    assert response.status_code == status, response.text
    body = response.json()
    assert reason in body["error"]["reasons"]
    assert "Traceback" not in response.text
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    event = last_event(app, settings)
    assert event.outcome == "deny"
    assert reason in event.details["reasons"]
    assert event.details["status"] == status
    assert event.details["request_id"] == response.headers["x-request-id"]


def test_valid_key_is_admitted_and_audited(
    client: TestClient, app: FastAPI, settings: Settings, api_key: str
) -> None:
    response = client.post("/v1/predict", json=BODY, headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 200
    assert response.json()["predictions"][0]["label"] == "positive"
    event = last_event(app, settings)
    assert (event.principal, event.outcome) == ("key:tester", "allow")
    assert event.details["authenticated_by"] == "api-key"
    assert len(event.details["input_sha256"]) == 64
    assert "lovely" not in event.details_json  # raw text is off by default


def test_x_api_key_header_works(client: TestClient, api_key: str) -> None:
    response = client.post("/v1/predict", json=BODY, headers={"X-API-Key": api_key})
    assert response.status_code == 200


def test_missing_credentials(client: TestClient, app: FastAPI, settings: Settings) -> None:
    _refused(client, app, settings, {}, "key-missing")


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwdw==", "Bearer", "Token abc", "Bearer bsk_short", "Bearer bsk_zz_zz"],
)
def test_malformed_credentials(
    client: TestClient, app: FastAPI, settings: Settings, header: str
) -> None:
    response = client.post("/v1/predict", json=BODY, headers={"Authorization": header})
    assert response.status_code == 401
    reasons = response.json()["error"]["reasons"]
    assert set(reasons) & {"credentials-malformed", "key-malformed"}
    assert last_event(app, settings).outcome == "deny"


def test_wrong_secret_with_known_prefix(
    client: TestClient, app: FastAPI, settings: Settings, api_key: str
) -> None:
    prefix = api_key[: len("bsk_") + 12]  # the secret itself may contain "_"
    forged = prefix + "_" + "A" * 43
    _refused(client, app, settings, {"Authorization": f"Bearer {forged}"}, "key-wrong")


def test_unknown_key(client: TestClient, app: FastAPI, settings: Settings) -> None:
    unknown = "bsk_0123456789ab_" + "B" * 43
    _refused(client, app, settings, {"Authorization": f"Bearer {unknown}"}, "key-unknown")


def test_revoked_key_is_refused_at_once(
    client: TestClient, app: FastAPI, settings: Settings, api_key: str
) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    assert client.post("/v1/predict", json=BODY, headers=headers).status_code == 200
    key_store_from_settings(settings).revoke("tester")
    _refused(client, app, settings, headers, "key-revoked")


def test_expired_key(client: TestClient, app: FastAPI, settings: Settings) -> None:
    store = key_store_from_settings(settings)
    issued = store.create("brief", ["predict"], expires_in=timedelta(seconds=1))
    # Move the expiry into the past directly in the store rather than sleeping.
    with store._engine.begin() as conn:
        conn.execute(store._table.update().values(expires_at="2000-01-01T00:00:00.000000Z"))
    _refused(client, app, settings, {"Authorization": f"Bearer {issued.plaintext}"}, "key-expired")


def test_wrong_scope_is_403(client: TestClient, app: FastAPI, settings: Settings) -> None:
    key = key_store_from_settings(settings).create("guards-only", ["guard"]).plaintext
    _refused(client, app, settings, {"Authorization": f"Bearer {key}"}, "scope-missing", status=403)
    ok = client.post("/v1/guard/input", json={"text": "hi"}, headers={"X-API-Key": key})
    assert ok.status_code == 200


# Tokens ---------------------------------------------------------------------------


def _oauth(client: TestClient, api_key: str, **extra: str) -> dict[str, object]:
    data = {"grant_type": "client_credentials", "client_id": "tester", "client_secret": api_key}
    data.update(extra)
    response = client.post("/oauth/token", data=data)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_client_credentials_token_works(client: TestClient, api_key: str) -> None:
    token = _oauth(client, api_key)
    assert token["token_type"] == "Bearer"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.post("/v1/predict", json=BODY, headers=headers).status_code == 200
    jwks = client.get("/.well-known/jwks.json").json()
    assert jwks["keys"][0]["alg"] == "EdDSA" and "d" not in jwks["keys"][0]


def test_token_with_narrower_scope(client: TestClient, api_key: str) -> None:
    token = _oauth(client, api_key, scope="guard")
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.post("/v1/predict", json=BODY, headers=headers).status_code == 403


def test_token_endpoint_refusals(client: TestClient, api_key: str) -> None:
    bad = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "tester", "client_secret": "x"},
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    grant = client.post("/oauth/token", data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    scope = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_secret": api_key,
            "scope": "admin",
        },
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    mismatch = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "other", "client_secret": api_key},
    )
    assert mismatch.status_code == 401


def test_basic_auth_client_credentials(client: TestClient, api_key: str) -> None:
    basic = base64.b64encode(f"tester:{api_key}".encode()).decode()
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200


def test_expired_token(client: TestClient, app: FastAPI, settings: Settings) -> None:
    past = int(time.time()) - 3600
    token = _token(app, settings, iat=past - 600, nbf=past - 600, exp=past)
    _refused(client, app, settings, {"Authorization": f"Bearer {token}"}, "token-expired")


def test_not_yet_valid_token(client: TestClient, app: FastAPI, settings: Settings) -> None:
    future = int(time.time()) + 3600
    token = _token(app, settings, nbf=future, exp=future + 600)
    _refused(client, app, settings, {"Authorization": f"Bearer {token}"}, "token-not-yet-valid")


def test_wrong_audience(client: TestClient, app: FastAPI, settings: Settings) -> None:
    token = _token(app, settings, aud="some-other-api")
    _refused(client, app, settings, {"Authorization": f"Bearer {token}"}, "token-wrong-audience")


def test_wrong_issuer(client: TestClient, app: FastAPI, settings: Settings) -> None:
    token = _token(app, settings, iss="https://evil.example")
    _refused(client, app, settings, {"Authorization": f"Bearer {token}"}, "token-wrong-issuer")


def test_token_without_predict_scope(client: TestClient, app: FastAPI, settings: Settings) -> None:
    token = _token(app, settings, scope="guard")
    _refused(
        client, app, settings, {"Authorization": f"Bearer {token}"}, "scope-missing", status=403
    )


def test_forged_signature_same_kid(client: TestClient, app: FastAPI, settings: Settings) -> None:
    attacker = Ed25519PrivateKey.generate()
    kid = app.state.gateway.issuer.kid
    token = jwt.encode(_claims(settings), attacker, algorithm="EdDSA", headers={"kid": kid})
    _refused(client, app, settings, {"Authorization": f"Bearer {token}"}, "token-bad-signature")


def test_tampered_payload(client: TestClient, app: FastAPI, settings: Settings) -> None:
    header, _payload, signature = _token(app, settings, scope="guard").split(".")
    forged = ".".join([header, _b64(_claims(settings, scope="predict guard admin")), signature])
    _refused(client, app, settings, {"Authorization": f"Bearer {forged}"}, "token-bad-signature")


def test_unknown_kid(client: TestClient, app: FastAPI, settings: Settings) -> None:
    attacker = Ed25519PrivateKey.generate()
    token = jwt.encode(
        _claims(settings),
        attacker,
        algorithm="EdDSA",
        headers={"kid": key_id(attacker.public_key())},
    )
    _refused(client, app, settings, {"Authorization": f"Bearer {token}"}, "token-kid-unknown")


def test_alg_none(client: TestClient, app: FastAPI, settings: Settings) -> None:
    kid = app.state.gateway.issuer.kid
    token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(_claims(settings))}."
    _refused(client, app, settings, {"Authorization": f"Bearer {token}"}, "token-alg-refused")


def test_hs256_key_confusion(client: TestClient, app: FastAPI, settings: Settings) -> None:
    """HMAC signed with the published public key (the classic confusion) is refused."""
    issuer = app.state.gateway.issuer
    public_x = issuer.jwks()["keys"][0]["x"].encode()
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": issuer.kid})
    body = _b64(_claims(settings))
    import hashlib
    import hmac

    mac = hmac.new(public_x, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    _refused(client, app, settings, {"Authorization": f"Bearer {token}"}, "token-alg-refused")


def test_rs256_header_on_eddsa_key(client: TestClient, app: FastAPI, settings: Settings) -> None:
    kid = app.state.gateway.issuer.kid
    token = f"{_b64({'alg': 'RS256', 'kid': kid})}.{_b64(_claims(settings))}.AAAA"
    _refused(client, app, settings, {"Authorization": f"Bearer {token}"}, "token-alg-refused")


def test_garbage_token(client: TestClient, app: FastAPI, settings: Settings) -> None:
    _refused(client, app, settings, {"Authorization": "Bearer not.a.jwt"}, "token-malformed")

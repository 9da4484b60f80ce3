"""Tokens from an external issuer, by JWKS file and by JWKS URL (a loopback server).

Keys (RSA, EC P-256, Ed25519) are generated here; every refusal is a 401 with
the reason code in the body and in the request's audit event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from bastion.core.errors import ConfigError, ServiceUnavailableError
from bastion.core.settings import Settings
from bastion.serving import create_app
from bastion.serving.tokens import (
    TOKEN_ISSUER_UNAVAILABLE,
    ExternalJwks,
    TokenError,
    TokenVerifier,
)
from tests.serving.conftest import last_event, make_settings

ISSUER = "https://idp.example.test"
AUDIENCE = "bastion-api"
BODY = {"inputs": ["what a lovely day"]}


@dataclass(frozen=True)
class SigningKey:
    alg: str
    kid: str
    private: Any
    jwk: dict[str, Any]


def _jwk(private: Any, alg: str, kid: str) -> dict[str, Any]:
    public = private.public_key()
    if alg == "RS256":
        data = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif alg == "ES256":
        data = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        data = OKPAlgorithm.to_jwk(public, as_dict=True)
    return {**data, "kid": kid, "use": "sig"}


def _make_key(alg: str) -> SigningKey:
    private: Any
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = Ed25519PrivateKey.generate()
    kid = f"{alg.lower()}-{uuid.uuid4().hex[:8]}"
    return SigningKey(alg, kid, private, _jwk(private, alg, kid))


@pytest.fixture(scope="module")
def idp_keys() -> dict[str, SigningKey]:
    return {alg: _make_key(alg) for alg in ("RS256", "ES256", "EdDSA")}


def _jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [key.jwk for key in keys]}


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "svc-analytics",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "scope": "predict",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(key: SigningKey, **overrides: Any) -> str:
    return jwt.encode(
        _claims(**overrides), key.private, algorithm=key.alg, headers={"kid": key.kid}
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# A loopback JWKS server --------------------------------------------------------------


@dataclass
class JwksServer:
    """Serves ``document`` at /jwks.json; counts hits; can misbehave on request."""

    document: dict[str, Any]
    hits: int = 0
    status: int = 200
    delay: float = 0.0
    padding: int = 0
    redirect: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer({"keys": []})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.hits += 1
            if state.delay:
                time.sleep(state.delay)
            if state.redirect:
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.end_headers()
                return
            body = json.dumps({**state.document, "pad": "x" * state.padding}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# The gateway, configured by file or by URL ------------------------------------------


@dataclass
class Gateway:
    app: FastAPI
    client: TestClient
    settings: Settings
    server: JwksServer | None


def _gateway(
    tmp_path: Path, mode: str, document: dict[str, Any], server: JwksServer, **serving: Any
) -> Iterator[Gateway]:
    values: dict[str, Any] = {"external_issuer": ISSUER, "external_audience": AUDIENCE}
    if mode == "file":
        path = tmp_path / "jwks.json"
        path.write_text(json.dumps(document))
        values["external_jwks_file"] = path
    else:
        server.document = document
        values["external_jwks_url"] = server.url
    values.update(serving)
    settings = make_settings(tmp_path / "home", **values)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Gateway(app, client, settings, server if mode == "url" else None)


@pytest.fixture(params=["file", "url"])
def gateway(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    idp_keys: dict[str, SigningKey],
    jwks_server: JwksServer,
) -> Iterator[Gateway]:
    yield from _gateway(tmp_path, request.param, _jwks(*idp_keys.values()), jwks_server)


def _post(gw: Gateway, token: str) -> Any:
    return gw.client.post("/v1/predict", json=BODY, headers={"Authorization": f"Bearer {token}"})


def _refused(gw: Gateway, token: str, reason: str) -> None:
    response = _post(gw, token)
    assert response.status_code == 401, response.text
    assert reason in response.json()["error"]["reasons"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    event = last_event(gw.app, gw.settings)
    assert event.outcome == "deny"
    assert reason in event.details["reasons"]
    assert event.details["status"] == 401
    assert event.details["request_id"] == response.headers["x-request-id"]


# Accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_valid_external_token_is_accepted(
    gateway: Gateway, idp_keys: dict[str, SigningKey], alg: str
) -> None:
    response = _post(gateway, _sign(idp_keys[alg]))
    assert response.status_code == 200, response.text
    event = last_event(gateway.app, gateway.settings)
    assert (event.principal, event.outcome) == ("ext:svc-analytics", "allow")
    assert event.details["authenticated_by"] == "jwt"


def test_scope_list_claim_and_missing_scope(
    gateway: Gateway, idp_keys: dict[str, SigningKey]
) -> None:
    key = idp_keys["ES256"]
    assert _post(gateway, _sign(key, scope=["predict", "guard"])).status_code == 200
    assert _post(gateway, _sign(key, scope="guard")).status_code == 403


# Refused -----------------------------------------------------------------------------


def test_wrong_audience(gateway: Gateway, idp_keys: dict[str, SigningKey]) -> None:
    _refused(gateway, _sign(idp_keys["RS256"], aud="another-api"), "token-wrong-audience")


def test_wrong_issuer(gateway: Gateway, idp_keys: dict[str, SigningKey]) -> None:
    _refused(gateway, _sign(idp_keys["RS256"], iss="https://evil.test"), "token-wrong-issuer")


def test_bastion_issuer_name_is_not_enough(
    gateway: Gateway, idp_keys: dict[str, SigningKey]
) -> None:
    """An external key cannot mint tokens that claim to come from Bastion itself."""
    token = _sign(
        idp_keys["EdDSA"],
        iss=gateway.settings.serving.jwt_issuer,
        aud=gateway.settings.serving.jwt_audience,
    )
    _refused(gateway, token, "token-wrong-issuer")


def test_expired(gateway: Gateway, idp_keys: dict[str, SigningKey]) -> None:
    past = int(time.time()) - 3600
    _refused(
        gateway,
        _sign(idp_keys["ES256"], iat=past - 60, nbf=past - 60, exp=past),
        "token-expired",
    )


def test_not_yet_valid(gateway: Gateway, idp_keys: dict[str, SigningKey]) -> None:
    future = int(time.time()) + 3600
    _refused(gateway, _sign(idp_keys["ES256"], nbf=future, exp=future + 60), "token-not-yet-valid")


def test_missing_expiry_is_refused(gateway: Gateway, idp_keys: dict[str, SigningKey]) -> None:
    claims = _claims()
    del claims["exp"]
    key = idp_keys["RS256"]
    token = jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})
    _refused(gateway, token, "token-claims-invalid")


def test_unknown_kid(gateway: Gateway) -> None:
    stranger = _make_key("ES256")
    _refused(gateway, _sign(stranger), "token-kid-unknown")


def test_alg_none(gateway: Gateway, idp_keys: dict[str, SigningKey]) -> None:
    header = _b64(json.dumps({"alg": "none", "kid": idp_keys["RS256"].kid}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    _refused(gateway, f"{header}.{payload}.", "token-alg-refused")


@pytest.mark.parametrize("material", ["pem", "jwk-n"])
def test_hs256_signed_with_the_rsa_public_key(
    gateway: Gateway, idp_keys: dict[str, SigningKey], material: str
) -> None:
    """Key confusion: an HMAC whose secret is the published RSA public key."""
    from cryptography.hazmat.primitives import serialization

    key = idp_keys["RS256"]
    secret = (
        key.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if material == "pem"
        else key.jwk["n"].encode()
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    _refused(gateway, f"{header}.{payload}.{_b64(mac)}", "token-alg-refused")


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_different_key_same_kid(
    gateway: Gateway, idp_keys: dict[str, SigningKey], alg: str
) -> None:
    impostor = _make_key(alg)
    token = jwt.encode(
        _claims(), impostor.private, algorithm=alg, headers={"kid": idp_keys[alg].kid}
    )
    _refused(gateway, token, "token-bad-signature")


def test_algorithm_not_matching_the_key(gateway: Gateway, idp_keys: dict[str, SigningKey]) -> None:
    """An ES384 header on a P-256 key, or PS256 on an EC key, never reaches verification."""
    for alg, key in (("ES384", idp_keys["ES256"]), ("RS256", idp_keys["ES256"])):
        header = _b64(json.dumps({"alg": alg, "kid": key.kid}).encode())
        payload = _b64(json.dumps(_claims()).encode())
        _refused(gateway, f"{header}.{payload}.AAAA", "token-alg-refused")


# Clock skew ----------------------------------------------------------------------------


@pytest.mark.parametrize(("leeway", "accepted"), [(30, True), (0, False)])
def test_clock_skew_leeway(
    tmp_path: Path,
    idp_keys: dict[str, SigningKey],
    jwks_server: JwksServer,
    leeway: int,
    accepted: bool,
) -> None:
    """A token 10 s early or 10 s late passes within a 30 s leeway and fails without one."""
    now = int(time.time())
    early = _sign(idp_keys["EdDSA"], iat=now, nbf=now + 10, exp=now + 300)
    late = _sign(idp_keys["EdDSA"], iat=now - 300, nbf=now - 300, exp=now - 10)
    for gw in _gateway(
        tmp_path,
        "file",
        _jwks(*idp_keys.values()),
        jwks_server,
        jwt_leeway_seconds=leeway,
    ):
        if accepted:
            assert _post(gw, early).status_code == 200
            assert _post(gw, late).status_code == 200
        else:
            _refused(gw, early, "token-not-yet-valid")
            _refused(gw, late, "token-expired")


# Fetching: bounded, cached, rate-limited, fail-closed ---------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _verifier(jwks: ExternalJwks) -> TokenVerifier:
    return TokenVerifier(None, external=jwks, external_issuer=ISSUER, external_audience=AUDIENCE)


def test_keys_are_cached_for_the_ttl_then_refetched(
    jwks_server: JwksServer, idp_keys: dict[str, SigningKey]
) -> None:
    jwks_server.document = _jwks(idp_keys["RS256"])
    clock = FakeClock()
    jwks = ExternalJwks(url=jwks_server.url, ttl_seconds=300, min_refresh_seconds=30, clock=clock)
    verifier = _verifier(jwks)
    for _ in range(5):
        verifier.verify(_sign(idp_keys["RS256"]))
    assert jwks_server.hits == 1
    # The issuer rotates: the old key goes away, a new one appears; seen after the TTL.
    jwks_server.document = _jwks(idp_keys["ES256"])
    clock.now += 301
    verifier.verify(_sign(idp_keys["ES256"]))
    assert jwks_server.hits == 2
    with pytest.raises(TokenError) as refused:
        verifier.verify(_sign(idp_keys["RS256"]))
    assert refused.value.reason == "token-kid-unknown"


def test_unknown_kids_cannot_amplify_fetches(
    jwks_server: JwksServer, idp_keys: dict[str, SigningKey]
) -> None:
    jwks_server.document = _jwks(idp_keys["RS256"])
    clock = FakeClock()
    jwks = ExternalJwks(url=jwks_server.url, ttl_seconds=300, min_refresh_seconds=30, clock=clock)
    verifier = _verifier(jwks)
    verifier.verify(_sign(idp_keys["RS256"]))
    for _ in range(20):  # right after a load: no refetch at all
        with pytest.raises(TokenError):
            verifier.verify(_sign(_make_key("EdDSA")))
    assert jwks_server.hits == 1
    clock.now += 31
    for _ in range(50):
        with pytest.raises(TokenError):
            verifier.verify(_sign(_make_key("EdDSA")))
    assert jwks_server.hits == 2  # one refetch for the whole storm of unknown kids
    # A key the issuer adds is picked up on the next refetch window.
    jwks_server.document = _jwks(idp_keys["RS256"], idp_keys["EdDSA"])
    with pytest.raises(TokenError):
        verifier.verify(_sign(idp_keys["EdDSA"]))
    clock.now += 31
    verifier.verify(_sign(idp_keys["EdDSA"]))
    assert jwks_server.hits == 3


def test_concurrent_unknown_kids_fetch_once(
    jwks_server: JwksServer, idp_keys: dict[str, SigningKey]
) -> None:
    jwks_server.document = _jwks(idp_keys["RS256"])
    jwks_server.delay = 0.05
    jwks = ExternalJwks(url=jwks_server.url, min_refresh_seconds=3600)
    verifier = _verifier(jwks)
    tokens = [_sign(_make_key("EdDSA")) for _ in range(8)]

    def attempt(token: str) -> None:
        with pytest.raises(TokenError):
            verifier.verify(token)

    threads = [threading.Thread(target=attempt, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert jwks_server.hits == 1


@pytest.mark.parametrize("failure", ["status", "too-large", "slow", "redirect", "not-json"])
def test_bad_jwks_responses_fail_closed(
    jwks_server: JwksServer, idp_keys: dict[str, SigningKey], failure: str
) -> None:
    jwks_server.document = _jwks(idp_keys["RS256"])
    if failure == "status":
        jwks_server.status = 500
    elif failure == "too-large":
        jwks_server.padding = 300_000
    elif failure == "slow":
        jwks_server.delay = 1.0
    elif failure == "redirect":
        jwks_server.redirect = True
    else:
        jwks_server.document = {"keys": "nope"}
    jwks = ExternalJwks(url=jwks_server.url, timeout_seconds=0.3, max_bytes=64 * 1024)
    with pytest.raises(TokenError) as refused:
        _verifier(jwks).verify(_sign(idp_keys["RS256"]))
    assert refused.value.reason == TOKEN_ISSUER_UNAVAILABLE


def test_unreachable_issuer_fails_closed_without_hammering(
    jwks_server: JwksServer, idp_keys: dict[str, SigningKey]
) -> None:
    jwks_server.document = _jwks(idp_keys["RS256"])
    clock = FakeClock()
    jwks = ExternalJwks(url=jwks_server.url, ttl_seconds=60, min_refresh_seconds=30, clock=clock)
    verifier = _verifier(jwks)
    verifier.verify(_sign(idp_keys["RS256"]))
    jwks_server.status = 503  # the identity provider goes down
    clock.now += 61  # ... and the cached keys expire
    for _ in range(20):
        with pytest.raises(TokenError) as refused:
            verifier.verify(_sign(idp_keys["RS256"]))
        assert refused.value.reason == TOKEN_ISSUER_UNAVAILABLE
    assert jwks_server.hits == 2  # one failed attempt per refresh interval
    jwks_server.status = 200
    clock.now += 31
    verifier.verify(_sign(idp_keys["RS256"]))
    assert jwks_server.hits == 3


def test_unreachable_url_through_the_gateway_is_401_and_audited(
    tmp_path: Path, idp_keys: dict[str, SigningKey], jwks_server: JwksServer
) -> None:
    for gw in _gateway(tmp_path, "url", _jwks(idp_keys["RS256"]), jwks_server):
        assert gw.server is not None
        gw.server.status = 503
        _refused(gw, _sign(idp_keys["RS256"]), TOKEN_ISSUER_UNAVAILABLE)


def test_unusable_keys_are_skipped_not_trusted(
    tmp_path: Path, idp_keys: dict[str, SigningKey]
) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    document = {
        "keys": [
            {"kty": "oct", "kid": "shared", "k": _b64(b"secret")},
            {**_jwk(small, "RS256", "small"), "kid": "small"},
            {**idp_keys["RS256"].jwk, "kid": "hs-pinned", "alg": "HS256"},
            {**idp_keys["ES256"].jwk, "kid": "enc", "use": "enc"},
            "not an object",
            idp_keys["EdDSA"].jwk,
        ]
    }
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(document))
    jwks = ExternalJwks(file=path)
    assert set(jwks.keys()) == {idp_keys["EdDSA"].kid}
    verifier = _verifier(jwks)
    small_token = jwt.encode(_claims(), small, algorithm="RS256", headers={"kid": "small"})
    with pytest.raises(TokenError) as refused:
        verifier.verify(small_token)
    assert refused.value.reason == "token-kid-unknown"


def test_private_members_in_a_jwks_are_dropped(
    tmp_path: Path, idp_keys: dict[str, SigningKey]
) -> None:
    key = idp_keys["RS256"]
    private = RSAAlgorithm.to_jwk(key.private, as_dict=True)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{**private, "kid": key.kid}]}))
    verifier = _verifier(ExternalJwks(file=path))
    assert verifier.verify(_sign(key)).id == "ext:svc-analytics"


@pytest.mark.parametrize(
    "url",
    ["http://idp.example.test/jwks.json", "ftp://127.0.0.1/jwks.json", "file:///etc/passwd"],
)
def test_jwks_url_must_be_https_unless_loopback(url: str) -> None:
    with pytest.raises(ConfigError):
        ExternalJwks(url=url)


def test_missing_file_fails_closed(tmp_path: Path) -> None:
    jwks = ExternalJwks(file=tmp_path / "absent.json")
    with pytest.raises(ServiceUnavailableError):
        jwks.keys()

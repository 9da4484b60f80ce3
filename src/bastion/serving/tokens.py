"""Short-lived access tokens: issued as EdDSA JWTs, verified strictly.

Bastion signs tokens with the keyring's Ed25519 ``token-signing`` key and
publishes its public half at ``/.well-known/jwks.json``.  Tokens from an
external issuer are accepted when their ``kid`` is in that issuer's JWKS
(URL or file).  The algorithm is never taken from the token alone: it must be
an asymmetric algorithm compatible with the key the ``kid`` names, so
``alg: none``, HMAC-with-public-key confusion and unknown ``kid`` are refused
before any signature math happens.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from bastion.core.crypto import key_id
from bastion.core.errors import BastionError, ConfigError, ServiceUnavailableError
from bastion.core.identity import Principal
from bastion.core.settings import Settings

# Reason codes (stable, audited).
TOKEN_MALFORMED = "token-malformed"  # noqa: S105 - a reason code
TOKEN_ALG_REFUSED = "token-alg-refused"  # noqa: S105 - a reason code
TOKEN_KID_UNKNOWN = "token-kid-unknown"  # noqa: S105 - a reason code
TOKEN_BAD_SIGNATURE = "token-bad-signature"  # noqa: S105 - a reason code
TOKEN_EXPIRED = "token-expired"  # noqa: S105 - a reason code
TOKEN_NOT_YET_VALID = "token-not-yet-valid"  # noqa: S105 - a reason code
TOKEN_WRONG_AUDIENCE = "token-wrong-audience"  # noqa: S105 - a reason code
TOKEN_WRONG_ISSUER = "token-wrong-issuer"  # noqa: S105 - a reason code
TOKEN_CLAIMS = "token-claims-invalid"  # noqa: S105 - a reason code
TOKEN_ISSUER_UNAVAILABLE = "token-issuer-unavailable"  # noqa: S105 - a reason code

ASYMMETRIC_ALGORITHMS = frozenset(
    {"EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
_KTY_ALGS = {
    "OKP": frozenset({"EdDSA"}),
    "EC": frozenset({"ES256", "ES384", "ES512"}),
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
}
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


class TokenError(Exception):
    """A presented token was refused; ``reason`` is the audited reason code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An access token and its lifetime, as the OAuth2 token endpoint returns it."""

    access_token: str
    expires_in: int
    scope: str

    def __repr__(self) -> str:
        return f"IssuedToken(expires_in={self.expires_in}, scope={self.scope!r})"


@dataclass(frozen=True, slots=True)
class Verifier:
    """How to check tokens of one issuer: its keys by ``kid`` and the claims expected."""

    issuer: str
    audience: str
    keys: Mapping[str, jwt.PyJWK]
    scopes_claim: str = "scope"


def _okp_jwk(private_key: Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    public = json.loads(OKPAlgorithm.to_jwk(private_key.public_key()))
    public.update({"kid": kid, "use": "sig", "alg": "EdDSA"})
    return dict(public)


class TokenIssuer:
    """Signs Bastion's own access tokens and publishes the verification key."""

    def __init__(
        self, private_key: Ed25519PrivateKey, *, issuer: str, audience: str, ttl_seconds: int
    ) -> None:
        self._key = private_key
        self.kid = key_id(private_key.public_key())
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self._jwk = _okp_jwk(private_key, self.kid)

    def __repr__(self) -> str:
        return f"TokenIssuer(kid={self.kid!r}, issuer={self.issuer!r})"

    def jwks(self) -> dict[str, Any]:
        """The public JSON Web Key Set (``/.well-known/jwks.json``)."""
        return {"keys": [dict(self._jwk)]}

    def issue(self, subject: str, scopes: Iterable[str]) -> IssuedToken:
        """A token for ``subject`` with ``scopes``, valid for ``ttl_seconds``."""
        now = int(time.time())
        scope = " ".join(sorted(set(scopes)))
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
            "scope": scope,
        }
        token = jwt.encode(
            claims, self._key, algorithm="EdDSA", headers={"kid": self.kid, "typ": "at+jwt"}
        )
        return IssuedToken(token, self.ttl_seconds, scope)

    def verifier(self) -> Verifier:
        """A verifier for the tokens this issuer signs."""
        return Verifier(self.issuer, self.audience, {self.kid: jwt.PyJWK(self._jwk)})


def parse_jwks(document: Mapping[str, Any], source: str) -> dict[str, jwt.PyJWK]:
    """Asymmetric signing keys with a ``kid`` from a JWKS document; others are ignored."""
    raw_keys = document.get("keys")
    if not isinstance(raw_keys, list):
        raise ConfigError(f"{source}: a JWKS document needs a 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for index, item in enumerate(raw_keys):
        if not isinstance(item, Mapping):
            raise ConfigError(f"{source}: keys[{index}] is not an object")
        kid, kty = item.get("kid"), item.get("kty")
        if not isinstance(kid, str) or kty not in _KTY_ALGS or item.get("use", "sig") != "sig":
            continue
        try:
            keys[kid] = jwt.PyJWK(dict(item))
        except jwt.PyJWTError as exc:
            raise ConfigError(
                f"{source}: keys[{index}] ({kid}) is not a usable key: {exc}"
            ) from None
    return keys


class ExternalJwks:
    """An external issuer's keys from a file or URL, refreshed on an unknown ``kid``.

    Refreshes are rate-limited so that tokens with random ``kid`` values cannot
    make the gateway hammer the identity provider.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        file: Path | None = None,
        min_refresh_seconds: float = 30.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        if (url is None) == (file is None):
            raise ConfigError("configure exactly one of serving.external_jwks_url / _file")
        self.url = url
        self.file = file
        self._min_refresh = min_refresh_seconds
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")

    def _load(self) -> dict[str, jwt.PyJWK]:
        if self.file is not None:
            try:
                document = json.loads(self.file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{self.file}: cannot read JWKS ({exc})") from None
            return parse_jwks(document, str(self.file))
        assert self.url is not None
        try:
            response = httpx.get(self.url, timeout=self._timeout, follow_redirects=False)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ServiceUnavailableError(f"JWKS at {self.url} unavailable: {exc}") from None
        return parse_jwks(document, self.url)

    def keys(self, *, want: str | None = None) -> dict[str, jwt.PyJWK]:
        """Current keys; reload if ``want`` is unknown and the last load is old enough."""
        with self._lock:
            stale = time.monotonic() - self._fetched_at >= self._min_refresh
            if (not self._keys or (want is not None and want not in self._keys)) and stale:
                self._keys = self._load()
                self._fetched_at = time.monotonic()
            return dict(self._keys)


def _header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError(TOKEN_MALFORMED) from None
    return header


class TokenVerifier:
    """Verifies Bastion's own tokens and, if configured, an external issuer's."""

    def __init__(
        self,
        local: Verifier | None,
        *,
        external: ExternalJwks | None = None,
        external_issuer: str | None = None,
        external_audience: str | None = None,
        external_scopes_claim: str = "scope",
        leeway_seconds: int = 30,
    ) -> None:
        if external is not None and (not external_issuer or not external_audience):
            raise ConfigError(
                "an external JWKS needs serving.external_issuer and serving.external_audience"
            )
        self.local = local
        self.external = external
        self.external_issuer = external_issuer or ""
        self.external_audience = external_audience or ""
        self.external_scopes_claim = external_scopes_claim
        self.leeway = leeway_seconds

    def _select(self, kid: str) -> tuple[jwt.PyJWK, Verifier]:
        if self.local is not None and kid in self.local.keys:
            return self.local.keys[kid], self.local
        if self.external is not None:
            try:
                keys = self.external.keys(want=kid)
            except (ServiceUnavailableError, ConfigError):
                raise TokenError(TOKEN_ISSUER_UNAVAILABLE) from None
            if kid in keys:
                return keys[kid], Verifier(
                    self.external_issuer, self.external_audience, keys, self.external_scopes_claim
                )
        raise TokenError(TOKEN_KID_UNKNOWN)

    def verify(self, token: str) -> Principal:
        """The principal a valid token stands for, or ``TokenError`` with the reason."""
        header = _header(token)
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in ASYMMETRIC_ALGORITHMS:
            raise TokenError(TOKEN_ALG_REFUSED)
        if not isinstance(kid, str) or not kid:
            raise TokenError(TOKEN_KID_UNKNOWN)
        key, verifier = self._select(kid)
        allowed = _KTY_ALGS.get(str(key._jwk_data.get("kty")), frozenset())
        pinned = key._jwk_data.get("alg")
        if alg not in allowed or (isinstance(pinned, str) and pinned != alg):
            raise TokenError(TOKEN_ALG_REFUSED)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=verifier.audience,
                issuer=verifier.issuer,
                leeway=self.leeway,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError(TOKEN_EXPIRED) from None
        except jwt.ImmatureSignatureError:
            raise TokenError(TOKEN_NOT_YET_VALID) from None
        except jwt.InvalidAudienceError:
            raise TokenError(TOKEN_WRONG_AUDIENCE) from None
        except jwt.InvalidIssuerError:
            raise TokenError(TOKEN_WRONG_ISSUER) from None
        except jwt.InvalidSignatureError:
            raise TokenError(TOKEN_BAD_SIGNATURE) from None
        except (jwt.MissingRequiredClaimError, jwt.InvalidIssuedAtError):
            raise TokenError(TOKEN_CLAIMS) from None
        except jwt.PyJWTError:
            raise TokenError(TOKEN_MALFORMED) from None
        return _principal(claims, verifier.scopes_claim, external=verifier is not self.local)


def _principal(claims: Mapping[str, Any], scopes_claim: str, *, external: bool) -> Principal:
    raw = claims.get(scopes_claim, "")
    if isinstance(raw, str):
        scopes = frozenset(raw.split())
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        scopes = frozenset(raw)
    else:
        raise TokenError(TOKEN_CLAIMS)
    subject = claims.get("sub")
    if not isinstance(subject, str):
        raise TokenError(TOKEN_CLAIMS)
    try:
        return Principal(
            subject if not external else f"ext:{subject}",
            authenticated_by="jwt",
            scopes=scopes,
        )
    except BastionError:
        raise TokenError(TOKEN_CLAIMS) from None


def token_services(settings: Settings) -> tuple[TokenIssuer, TokenVerifier]:
    """The issuer (keyring ``token-signing`` key) and verifier configured by ``settings``."""
    from bastion.secrets import keyring_from_settings

    serving = settings.serving
    issuer = TokenIssuer(
        keyring_from_settings(settings).token_signing_key(),
        issuer=serving.jwt_issuer,
        audience=serving.jwt_audience,
        ttl_seconds=serving.jwt_ttl_seconds,
    )
    external = None
    if serving.external_jwks_url or serving.external_jwks_file:
        external = ExternalJwks(url=serving.external_jwks_url, file=serving.external_jwks_file)
    verifier = TokenVerifier(
        issuer.verifier(),
        external=external,
        external_issuer=serving.external_issuer,
        external_audience=serving.external_audience,
        external_scopes_claim=serving.external_scopes_claim,
        leeway_seconds=serving.jwt_leeway_seconds,
    )
    return issuer, verifier

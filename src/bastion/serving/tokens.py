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

import ipaddress
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from bastion.core.crypto import key_id
from bastion.core.errors import BastionError, ConfigError, ServiceUnavailableError
from bastion.core.identity import Principal
from bastion.core.settings import Settings

log = logging.getLogger(__name__)

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


_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048


def _public_key(item: Mapping[str, Any]) -> jwt.PyJWK | None:
    """A verification key from one JWK, or None when it is not a usable signing key."""
    kid, kty, pinned = item.get("kid"), item.get("kty"), item.get("alg")
    if not isinstance(kid, str) or not kid or kty not in _KTY_ALGS:
        return None
    if item.get("use", "sig") != "sig":
        return None
    if pinned is not None and pinned not in _KTY_ALGS[str(kty)]:
        return None  # e.g. an RSA key announced for HS256: never usable
    public = {name: value for name, value in item.items() if name not in _PRIVATE_MEMBERS}
    try:
        key = jwt.PyJWK(public)
    except jwt.PyJWTError:
        return None
    if kty == "RSA" and getattr(key.key, "key_size", 0) < MIN_RSA_BITS:
        return None
    return key


def parse_jwks(document: Mapping[str, Any], source: str) -> dict[str, jwt.PyJWK]:
    """Asymmetric public signing keys with a ``kid`` from a JWKS document.

    Keys that cannot verify anything safely (symmetric ``oct`` keys, encryption
    keys, RSA under 2048 bits, an ``alg`` that does not fit the key type,
    unparseable members) are skipped with a warning, so one odd key does not
    take the issuer's other keys down; private members are dropped.
    """
    raw_keys = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(raw_keys, list):
        raise ConfigError(f"{source}: a JWKS document needs a 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for index, item in enumerate(raw_keys):
        key = _public_key(item) if isinstance(item, Mapping) else None
        if key is None:
            log.warning("%s: keys[%d] is not a usable signing key; skipped", source, index)
            continue
        keys[str(item["kid"])] = key
    return keys


# Raw bytes are size-checked, so ask for them uncompressed (no decompression bombs).
_JWKS_REQUEST_HEADERS = {"Accept": "application/json", "Accept-Encoding": "identity"}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ExternalJwks:
    """An external issuer's keys from a file or URL: bounded, cached, fail-closed.

    * Fetching is bounded: a connect/read timeout, an overall deadline and a size
      cap; redirects are not followed; plain ``http`` only to loopback.
    * Keys are cached for ``ttl_seconds``; after that they are refetched, and if
      the issuer cannot be reached the cached keys are no longer trusted (every
      token of this issuer is refused until a fetch succeeds).
    * An unknown ``kid`` triggers a refetch, but fetch attempts (successful or
      not) happen at most once per ``min_refresh_seconds``, so tokens with random
      ``kid`` values or an unreachable issuer cannot amplify into a flood of
      requests to the identity provider.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        file: Path | None = None,
        ttl_seconds: float = 300.0,
        min_refresh_seconds: float = 30.0,
        timeout_seconds: float = 3.0,
        max_bytes: int = 256 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (url is None) == (file is None):
            raise ConfigError("configure exactly one of serving.external_jwks_url / _file")
        if url is not None:
            parsed = urlsplit(url)
            if parsed.scheme not in ("https", "http") or not parsed.hostname:
                raise ConfigError(f"serving.external_jwks_url {url!r} must be an https:// URL")
            if parsed.scheme == "http" and not _loopback(parsed.hostname):
                raise ConfigError(
                    f"serving.external_jwks_url {url!r}: plain http is allowed only to loopback"
                )
        self.url = url
        self.file = file
        self.ttl = ttl_seconds
        self.min_refresh = min_refresh_seconds
        self.timeout = timeout_seconds
        self.max_bytes = max_bytes
        self.fetches = 0  # fetch attempts, successful or not (observable for tests/metrics)
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._expires_at = float("-inf")
        self._attempted_at = float("-inf")

    def _read_file(self) -> bytes:
        assert self.file is not None
        try:
            with self.file.open("rb") as handle:
                raw = handle.read(self.max_bytes + 1)
        except OSError as exc:
            raise ConfigError(f"{self.file}: cannot read JWKS ({exc})") from None
        if len(raw) > self.max_bytes:
            raise ConfigError(f"{self.file}: JWKS larger than {self.max_bytes} bytes")
        return raw

    def _download(self) -> bytes:
        assert self.url is not None
        deadline = time.monotonic() + self.timeout
        chunks: list[bytes] = []
        try:
            with (
                httpx.Client(timeout=self.timeout, follow_redirects=False) as client,
                client.stream("GET", self.url, headers=_JWKS_REQUEST_HEADERS) as reply,
            ):
                if reply.status_code != 200:
                    raise ServiceUnavailableError(
                        f"JWKS at {self.url} answered HTTP {reply.status_code}"
                    )
                if reply.headers.get("content-encoding", "identity") != "identity":
                    raise ServiceUnavailableError(f"JWKS at {self.url} is compressed")
                declared = reply.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise ServiceUnavailableError(f"JWKS at {self.url} is too large")
                size = 0
                for chunk in reply.iter_raw():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise ServiceUnavailableError(f"JWKS at {self.url} is too large")
                    if time.monotonic() > deadline:
                        raise ServiceUnavailableError(f"JWKS at {self.url} is too slow")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise ServiceUnavailableError(
                f"JWKS at {self.url} unavailable: {type(exc).__name__}"
            ) from None
        return b"".join(chunks)

    def _load(self) -> dict[str, jwt.PyJWK]:
        raw = self._read_file() if self.file is not None else self._download()
        source = str(self.file or self.url)
        try:
            document = json.loads(raw)
        except ValueError:
            raise ConfigError(f"{source}: JWKS is not valid JSON") from None
        if not isinstance(document, Mapping):
            raise ConfigError(f"{source}: a JWKS document must be a JSON object")
        return parse_jwks(document, source)

    def keys(self, *, want: str | None = None) -> Mapping[str, jwt.PyJWK]:
        """Current keys; refetch when expired or ``want`` is unknown (rate-limited).

        Raises ``ServiceUnavailableError`` when no fresh keys can be had (fail closed).
        """
        with self._lock:
            now = self._clock()
            fresh = now < self._expires_at
            if (not fresh or (want is not None and want not in self._keys)) and (
                now - self._attempted_at >= self.min_refresh
            ):
                self._attempted_at = now
                self.fetches += 1
                try:
                    self._keys = self._load()
                    self._expires_at = now + self.ttl
                    fresh = True
                except (ServiceUnavailableError, ConfigError) as exc:
                    log.warning("external JWKS refresh failed: %s", exc)
            if not fresh:
                raise ServiceUnavailableError("the external token issuer's keys are unavailable")
            return self._keys


def _allowed_algorithms(key: jwt.PyJWK) -> frozenset[str]:
    """The algorithms a key may verify: its pinned ``alg``, else what its type and curve imply.

    RSA keys without ``alg`` accept the RSA family; EC keys only the algorithm of
    their curve (ES256 for P-256, ...); Ed25519 keys only EdDSA.
    """
    kty = str(key._jwk_data.get("kty"))
    family = _KTY_ALGS.get(kty, frozenset())
    pinned = key._jwk_data.get("alg")
    if isinstance(pinned, str):
        return frozenset({pinned}) & family
    if kty == "RSA":
        return family
    return frozenset({key.algorithm_name}) & family


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

    @property
    def may_block(self) -> bool:
        """True when verification can wait on the network (an external JWKS URL)."""
        return self.external is not None and self.external.url is not None

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
        if alg not in _allowed_algorithms(key):
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

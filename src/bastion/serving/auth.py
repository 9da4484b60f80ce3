"""Authentication (API key or bearer JWT), scope checks and rate limits as one gate.

Order matters and is fixed: per-address limit (so credential guessing is
throttled too), authentication, scope, per-principal limit.  Each refusal is a
:class:`Refusal` carrying a reason code that ends up in the audit event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from starlette.requests import Request

from bastion.core.identity import Principal
from bastion.serving.apikeys import KEY_MISSING, SCOPE_ACTIONS, ApiKeyStore
from bastion.serving.context import Refusal, RequestContext, ctx_of
from bastion.serving.ratelimit import STORE_DOWN, LimitResult, RateLimiter
from bastion.serving.tokens import TokenError, TokenVerifier

CREDENTIALS_MALFORMED = "credentials-malformed"
SCOPE_MISSING = "scope-missing"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="bastion"'}


def actions_for(scopes: frozenset[str]) -> frozenset[str]:
    """The access actions a set of scopes grants (unknown scopes grant nothing)."""
    return frozenset(SCOPE_ACTIONS[scope] for scope in scopes if scope in SCOPE_ACTIONS)


@dataclass
class Authenticator:
    """Turns request credentials into a :class:`Principal` or a 401."""

    keys: ApiKeyStore
    tokens: TokenVerifier

    async def principal_for_key(self, presented: str) -> Principal:
        """Verify an API key (off the event loop unless the store's reads are local)."""
        if self.keys.reads_are_local:
            check = self.keys.verify(presented)
        else:
            check = await anyio.to_thread.run_sync(self.keys.verify, presented)
        if check.record is None:
            raise Refusal(401, check.reason, "API key refused", headers=_CHALLENGE)
        record = check.record
        return Principal(record.principal_id, authenticated_by="api-key", scopes=record.scopes)

    def principal_for_token(self, token: str) -> Principal:
        """Verify a bearer JWT (may fetch an external JWKS: call from a thread then)."""
        try:
            return self.tokens.verify(token)
        except TokenError as exc:
            raise Refusal(401, exc.reason, "access token refused", headers=_CHALLENGE) from None

    async def principal_for_token_async(self, token: str) -> Principal:
        """Verify a bearer JWT without blocking the event loop on a JWKS fetch."""
        if self.tokens.may_block:
            return await anyio.to_thread.run_sync(self.principal_for_token, token)
        return self.principal_for_token(token)

    async def authenticate(self, request: Request) -> Principal:
        """The principal behind ``Authorization: Bearer …`` or ``X-API-Key``."""
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, _, credential = authorization.partition(" ")
            credential = credential.strip()
            if scheme.lower() != "bearer" or not credential:
                raise Refusal(
                    401,
                    CREDENTIALS_MALFORMED,
                    "use 'Authorization: Bearer <api key or token>'",
                    headers=_CHALLENGE,
                )
            if credential.startswith("bsk_"):
                return await self.principal_for_key(credential)
            return await self.principal_for_token_async(credential)
        api_key = request.headers.get("x-api-key")
        if api_key:
            return await self.principal_for_key(api_key.strip())
        raise Refusal(401, KEY_MISSING, "credentials required", headers=_CHALLENGE)


def _apply_limit(ctx: RequestContext, result: LimitResult, kind: str) -> None:
    if result.store_down:
        ctx.add_reason(STORE_DOWN)
        if not result.allowed:
            raise Refusal(
                503,
                STORE_DOWN,
                "rate-limit store unavailable; try again shortly",
                headers={"Retry-After": "1"},
            )
        return
    ctx.headers.update(result.headers())
    if not result.allowed:
        raise Refusal(
            429,
            "rate-limited",
            f"too many requests for this {kind}; retry after the Retry-After seconds",
            reasons=["rate-limited", f"rate-limited:{kind}"],
            headers=result.headers(),
        )


async def limit_address(request: Request, limiter: RateLimiter) -> RequestContext:
    """Apply the per-address limits; returns the request context."""
    ctx = ctx_of(request)
    _apply_limit(ctx, await limiter.check_address(ctx.client, body_bytes=len(ctx.body)), "address")
    return ctx


def gate(
    action: str, authenticator: Callable[[], Authenticator], limiter: Callable[[], RateLimiter]
) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency admitting principals whose scopes grant ``action``."""

    async def dependency(request: Request) -> Principal:
        ctx = await limit_address(request, limiter())
        principal = await authenticator().authenticate(request)
        ctx.principal = principal.id
        ctx.authenticated_by = principal.authenticated_by
        if action not in actions_for(principal.scopes):
            raise Refusal(
                403,
                SCOPE_MISSING,
                f"this credential's scopes do not grant {action!r}",
                reasons=[SCOPE_MISSING],
            )
        _apply_limit(
            ctx,
            await limiter().check_principal(principal.id, body_bytes=len(ctx.body)),
            "principal",
        )
        return principal

    return dependency

"""Rate limits per principal and per client address, several windows at once.

Built on the ``limits`` library's moving-window strategy: counts are exact and,
with Redis, atomic across every gateway process that shares the server (a Lua
script adds the hit only when the window has room).  Memory storage is the
offline default.  When the store is unreachable the gateway fails closed
(``503``) unless ``serving.fail_open`` is set; both cases carry the reason
``ratelimit-store-down`` into the request's audit event.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from bastion.core.errors import ConfigError
from bastion.core.settings import Settings, redact_url

log = logging.getLogger(__name__)

RATE_LIMITED = "rate-limited"
STORE_DOWN = "ratelimit-store-down"


def parse_limits(texts: Sequence[str], field: str) -> tuple[RateLimitItem, ...]:
    """``["10/second", "10000/day"]`` as limit items; a bad string names the field."""
    items = []
    for text in texts:
        try:
            items.append(parse(text))
        except ValueError:
            raise ConfigError(
                f"serving.{field}: {text!r} is not a rate limit (try '10/second' or '10000/day')"
            ) from None
    return tuple(items)


@dataclass(frozen=True, slots=True)
class LimitResult:
    """The outcome of one rate-limit check and the headers to send."""

    allowed: bool
    limit: int = 0
    remaining: int = 0
    reset_seconds: int = 0
    reason: str | None = None
    store_down: bool = False

    def headers(self) -> dict[str, str]:
        """``RateLimit-*`` headers, plus ``Retry-After`` when refused."""
        if self.limit == 0:
            return {}
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(0, self.remaining)),
            "RateLimit-Reset": str(max(0, self.reset_seconds)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_seconds))
        return headers


class RateLimiter:
    """Checks a request against the principal and address limits."""

    def __init__(
        self,
        storage: Storage,
        *,
        principal_limits: Sequence[RateLimitItem],
        address_limits: Sequence[RateLimitItem],
        namespace: str = "bastion",
        fail_open: bool = False,
        cost_bytes: int = 0,
    ) -> None:
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self.principal_limits = tuple(principal_limits)
        self.address_limits = tuple(address_limits)
        self.namespace = namespace
        self.fail_open = fail_open
        self.cost_bytes = cost_bytes

    def cost(self, body_bytes: int) -> int:
        """How many hits a request of this size costs (1 unless costing by size)."""
        if self.cost_bytes <= 0 or body_bytes <= 0:
            return 1
        return max(1, math.ceil(body_bytes / self.cost_bytes))

    async def check_address(self, address: str, *, body_bytes: int = 0) -> LimitResult:
        """Apply the per-address limits."""
        return await self._check(self.address_limits, "addr", address, self.cost(body_bytes))

    async def check_principal(self, principal: str, *, body_bytes: int = 0) -> LimitResult:
        """Apply the per-principal limits."""
        return await self._check(
            self.principal_limits, "principal", principal, self.cost(body_bytes)
        )

    async def _check(
        self, items: Sequence[RateLimitItem], kind: str, who: str, cost: int
    ) -> LimitResult:
        if not items:
            return LimitResult(True)
        tightest: LimitResult | None = None
        try:
            for item in items:
                admitted = await self._limiter.hit(item, self.namespace, kind, who, cost=cost)
                stats = await self._limiter.get_window_stats(item, self.namespace, kind, who)
                reset = math.ceil(stats.reset_time - time.time())
                result = LimitResult(
                    admitted,
                    item.amount,
                    stats.remaining,
                    reset,
                    None if admitted else RATE_LIMITED,
                )
                if not admitted:
                    return result
                if tightest is None or result.remaining < tightest.remaining:
                    tightest = result
        except Exception as exc:  # any storage failure: decide by policy, never crash
            log.warning(
                "rate-limit store unavailable (%s); failing %s",
                type(exc).__name__,
                "open" if self.fail_open else "closed",
            )
            return LimitResult(self.fail_open, reason=STORE_DOWN, store_down=True)
        assert tightest is not None
        return tightest

    async def ping(self) -> bool:
        """True when the storage answers."""
        try:
            return bool(await self.storage.check())
        except Exception:
            return False


def storage_uri(settings: Settings) -> str:
    """``async+redis://…`` for a configured Redis URL, else process memory."""
    url = settings.serving.redis_url
    if url is None:
        return "async+memory://"
    text = url.get_secret_value()
    if not text.startswith(("redis://", "rediss://", "redis+unix://")):
        raise ConfigError(f"serving.redis_url {redact_url(text)!r} must be a redis:// URL")
    return "async+" + text


def limiter_from_settings(settings: Settings, *, namespace: str = "bastion") -> RateLimiter:
    """The rate limiter configured by ``settings.serving``."""
    serving = settings.serving
    uri = storage_uri(settings)
    options: dict[str, float | str | bool] = {}
    if uri.startswith("async+redis"):
        options = {
            "implementation": "redispy",
            "socket_timeout": 1.0,
            "socket_connect_timeout": 1.0,
        }
    storage = storage_from_string(uri, **options)
    if not isinstance(storage, Storage):
        raise ConfigError(f"rate-limit storage {uri.split(':', 1)[0]} is not asynchronous")
    return RateLimiter(
        storage,
        principal_limits=parse_limits(serving.rate_limits_principal, "rate_limits_principal"),
        address_limits=parse_limits(serving.rate_limits_address, "rate_limits_address"),
        namespace=namespace,
        fail_open=serving.fail_open,
        cost_bytes=serving.rate_limit_cost_bytes,
    )

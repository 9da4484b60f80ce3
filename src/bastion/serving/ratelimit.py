"""Rate limits per principal and per client address, several windows at once.

Built on the ``limits`` library's moving-window strategy: counts are exact and,
with Redis, atomic across every gateway process that shares the server (a Lua
script adds the hit only when the window has room).  Memory storage is the
offline default, with the moving window kept in a deque per key
(:class:`MovingWindowMemory`): ``limits``' own async memory storage inserts each
hit at the front of a list and re-copies every list from a thread on each
expiry pass, which costs O(hits in the window) per request — at a 10,000/day
limit that is the gateway's largest per-request cost.  Admission is the same
exact rule.  When the store is unreachable the gateway fails closed
(``503``) unless ``serving.fail_open`` is set; both cases carry the reason
``ratelimit-store-down`` into the request's audit event.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
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


class MovingWindowMemory(MemoryStorage):
    """``limits``' async memory storage with an O(1) amortised moving window.

    One deque of hit times per key, oldest first: expired hits are popped from
    the left when the key is next touched, so a check never scans or copies the
    window.  A hit is admitted when the hits still inside the window plus its
    cost stay within the limit — the rule of ``limits``' moving window.  Every
    operation runs on the event loop without awaiting, so it is atomic there.
    Keys idle for longer than their window are swept every ``SWEEP_EVERY`` hits.
    """

    STORAGE_SCHEME = ["async+bastion-memory"]  # noqa: RUF012 - the base class declares it so
    SWEEP_EVERY = 4096

    def __init__(self) -> None:
        super().__init__()
        self._windows: dict[str, tuple[deque[float], float]] = {}
        self._hits = 0

    def _window(self, key: str, expiry: float, now: float) -> deque[float]:
        entry = self._windows.get(key)
        if entry is None:
            hits: deque[float] = deque()
            self._windows[key] = (hits, expiry)
            return hits
        hits = entry[0]
        cutoff = now - expiry
        while hits and hits[0] < cutoff:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        for key, (hits, expiry) in list(self._windows.items()):
            if not hits or hits[-1] < now - expiry:
                del self._windows[key]

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        self._hits += 1
        if self._hits % self.SWEEP_EVERY == 0:
            self._sweep(now)
        hits = self._window(key, expiry, now)
        if len(hits) + amount > limit:
            return False
        hits.extend([now] * amount)
        return True

    def hit_and_stats(
        self, key: str, limit: int, expiry: int, amount: int
    ) -> tuple[bool, float, int]:
        """``acquire_entry`` then ``get_moving_window`` in one call: (admitted, start, count).

        The same rule and the same numbers as the two awaited calls, on one clock
        reading and one window trim (the gateway makes this call per window).
        """
        now = time.time()
        if amount > limit:
            admitted = False
            hits = self._window(key, expiry, now) if key in self._windows else None
        else:
            self._hits += 1
            if self._hits % self.SWEEP_EVERY == 0:
                self._sweep(now)
            hits = self._window(key, expiry, now)
            admitted = len(hits) + amount <= limit
            if admitted:
                if amount == 1:
                    hits.append(now)
                else:
                    hits.extend([now] * amount)
        if not hits:
            return admitted, now, 0
        return admitted, hits[0], len(hits)

    def hit_all(
        self, windows: Sequence[tuple[str, int, int]], amount: int, now: float
    ) -> list[tuple[float, int]] | None:
        """Add ``amount`` hits to every (key, limit, expiry) window if each has room, else none.

        All or nothing, without awaiting: on the event loop that is atomic.  Returns
        each window's (start, count) after the hits, or None when any window (or
        none of them) would refuse — then nothing was recorded.  Keys must differ.
        """
        self._hits += len(windows)
        if self._hits % self.SWEEP_EVERY < len(windows):
            self._sweep(now)
        trimmed = []
        for key, limit, expiry in windows:
            if amount > limit:
                return None
            hits = self._window(key, expiry, now)
            if len(hits) + amount > limit:
                return None
            trimmed.append(hits)
        for hits in trimmed:
            if amount == 1:
                hits.append(now)
            else:
                hits.extend([now] * amount)
        return [(hits[0], len(hits)) for hits in trimmed]

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        if key not in self._windows:
            return now, 0
        hits = self._window(key, expiry, now)
        if not hits:
            return now, 0
        return hits[0], len(hits)

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)
        await super().clear(key)

    async def reset(self) -> int | None:
        count = len(self._windows)
        self._windows.clear()
        await super().reset()
        return count


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
        self._memory = storage if isinstance(storage, MovingWindowMemory) else None
        # Windows by (kind, who) for admit_now(): key strings cost a join per window.
        self._window_keys: dict[tuple[str, str], list[tuple[str, int, int]]] = {}

    @property
    def admits_synchronously(self) -> bool:
        """True when :meth:`admit_now` can decide (in-process store, distinct windows)."""
        return self._memory is not None and all(
            len({(i.amount, i.multiples, i.GRANULARITY) for i in items}) == len(items)
            for items in (self.address_limits, self.principal_limits)
        )

    def _windows(
        self, kind: str, who: str, items: Sequence[RateLimitItem]
    ) -> list[tuple[str, int, int]]:
        cache_key = (kind, who)
        windows = self._window_keys.get(cache_key)
        if windows is None:
            if len(self._window_keys) >= 4096:
                self._window_keys.clear()
            windows = self._window_keys[cache_key] = [
                (key, item.amount, expiry) for item, key, expiry in self._keyed(items, kind, who)
            ]
        return windows

    def admit_now(
        self, address: str, principal: str, body_bytes: int, now: float
    ) -> list[tuple[bytes, bytes]] | None:
        """Address and principal limits in one step, all or nothing (in-process store only).

        When every window of both kinds has room, records the hits and returns the
        ``RateLimit-*`` headers that :meth:`check_address` then
        :meth:`check_principal` would have produced (the principal's tightest
        window when it has limits, else the address's).  Otherwise records
        nothing and returns None: the caller then takes the sequential path,
        which decides and words the refusal.  Requires :attr:`admits_synchronously`.
        """
        memory = self._memory
        assert memory is not None
        cost = self.cost(body_bytes)
        addr_windows = self._windows("addr", address, self.address_limits)
        principal_windows = self._windows("principal", principal, self.principal_limits)
        stats = memory.hit_all(addr_windows + principal_windows, cost, now)
        if stats is None:
            return None
        if principal_windows:
            windows, stats = principal_windows, stats[len(addr_windows) :]
        elif addr_windows:
            windows = addr_windows
        else:
            return []
        best = 0
        best_remaining = windows[0][1] - stats[0][1]
        for index in range(1, len(windows)):
            remaining = windows[index][1] - stats[index][1]
            if remaining < best_remaining:
                best, best_remaining = index, remaining
        limit, expiry = windows[best][1], windows[best][2]
        reset = math.ceil(stats[best][0] + expiry - now)
        return [
            (b"ratelimit-limit", str(limit).encode()),
            (b"ratelimit-remaining", str(max(0, best_remaining)).encode()),
            (b"ratelimit-reset", str(max(0, reset)).encode()),
        ]

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
        if self._memory is not None:
            return self._check_memory(items, kind, who, cost)
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

    def _check_memory(
        self, items: Sequence[RateLimitItem], kind: str, who: str, cost: int
    ) -> LimitResult:
        """In-process windows: no awaits, no storage round trips, same results."""
        memory = self._memory
        assert memory is not None
        tightest: LimitResult | None = None
        for item, key, expiry in self._keyed(items, kind, who):
            admitted, start, count = memory.hit_and_stats(key, item.amount, expiry, cost)
            result = LimitResult(
                admitted,
                item.amount,
                item.amount - count,
                math.ceil(start + expiry - time.time()),
                None if admitted else RATE_LIMITED,
            )
            if not admitted:
                return result
            if tightest is None or result.remaining < tightest.remaining:
                tightest = result
        assert tightest is not None
        return tightest

    def _keyed(
        self, items: Sequence[RateLimitItem], kind: str, who: str
    ) -> list[tuple[RateLimitItem, str, int]]:
        return [
            (item, item.key_for(self.namespace, kind, who), item.get_expiry()) for item in items
        ]

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
    storage = (
        MovingWindowMemory() if uri == "async+memory://" else storage_from_string(uri, **options)
    )
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

"""The in-process moving window admits exactly the configured number, like ``limits``'."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from bastion.serving.ratelimit import MovingWindowMemory, RateLimiter


def test_admits_the_limit_then_refuses_with_headers() -> None:
    async def run() -> list[tuple[bool, int]]:
        limiter = RateLimiter(
            MovingWindowMemory(), principal_limits=[parse("3/hour")], address_limits=[]
        )
        results = []
        for _ in range(5):
            result = await limiter.check_principal("alice")
            results.append((result.allowed, result.remaining))
        other = await limiter.check_principal("bob")
        results.append((other.allowed, other.remaining))
        return results

    assert asyncio.run(run()) == [
        (True, 2),
        (True, 1),
        (True, 0),
        (False, 0),
        (False, 0),
        (True, 2),
    ]


def test_a_cost_larger_than_what_is_left_is_refused_and_takes_nothing() -> None:
    async def run() -> tuple[bool, bool, bool]:
        storage = MovingWindowMemory()
        strategy = MovingWindowRateLimiter(storage)
        item = parse("10/hour")
        first = await strategy.hit(item, "k", cost=8)
        too_much = await strategy.hit(item, "k", cost=3)
        fits = await strategy.hit(item, "k", cost=2)
        return first, too_much, fits

    assert asyncio.run(run()) == (True, False, True)


def test_clear_and_reset_forget_hits() -> None:
    async def run() -> tuple[bool, bool]:
        storage = MovingWindowMemory()
        strategy = MovingWindowRateLimiter(storage)
        item = parse("1/hour")
        await strategy.hit(item, "a")
        await strategy.clear(item, "a")
        after_clear = await strategy.hit(item, "a")
        await storage.reset()
        after_reset = await strategy.hit(item, "a")
        return after_clear, after_reset

    assert asyncio.run(run()) == (True, True)


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=20),
    costs=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=40),
)
def test_same_decisions_as_the_limits_memory_storage(limit: int, costs: list[int]) -> None:
    """Within one window (an hour) both storages admit and refuse the same hits."""

    async def decisions(storage: MemoryStorage) -> list[tuple[bool, int]]:
        strategy = MovingWindowRateLimiter(storage)
        item = parse(f"{limit}/hour")
        out = []
        for cost in costs:
            admitted = await strategy.hit(item, "ns", "who", cost=cost)
            stats = await strategy.get_window_stats(item, "ns", "who")
            out.append((admitted, stats.remaining))
        return out

    async def both() -> tuple[list[tuple[bool, int]], list[tuple[bool, int]]]:
        return await decisions(MovingWindowMemory()), await decisions(MemoryStorage())

    ours, theirs = asyncio.run(both())
    assert ours == theirs


@settings(max_examples=60, deadline=None)
@given(
    limits=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=3),
    costs=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=30),
)
def test_the_limiters_memory_fast_path_matches_the_generic_path(
    limits: list[int], costs: list[int]
) -> None:
    """The synchronous in-process path answers exactly as the awaited strategy does."""
    items = [parse(f"{n}/hour") for n in limits]

    async def answers(storage: MemoryStorage) -> list[tuple[bool, int, int, str | None]]:
        limiter = RateLimiter(storage, principal_limits=items, address_limits=[])
        out = []
        for cost in costs:
            result = await limiter.check_principal("p", body_bytes=0)
            if cost > 1:
                result = await limiter._check(items, "principal", "p", cost)
            out.append((result.allowed, result.limit, result.remaining, result.reason))
        return out

    async def both() -> tuple[list[Any], list[Any]]:
        return await answers(MovingWindowMemory()), await answers(MemoryStorage())

    ours, theirs = asyncio.run(both())
    assert ours == theirs

"""Processes that start together create the monitor store's tables without failing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from bastion.monitor.store import MonitorStore


def _first_use(url: str, barrier: object, index: int, results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        store = MonitorStore(url)
        store.blocked()  # first use creates the schema
        results.put((index, "ok"))  # type: ignore[attr-defined]
    except Exception as exc:  # reported to the test, which names it
        results.put((index, f"{type(exc).__name__}: {exc}"))  # type: ignore[attr-defined]


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_first_use_on_sqlite(tmp_path: Path, round_: int) -> None:
    url = f"sqlite:///{tmp_path / f'monitor-{round_}.db'}"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    workers = [
        context.Process(target=_first_use, args=(url, barrier, i, results)) for i in range(4)
    ]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
    assert outcomes == [(i, "ok") for i in range(4)]

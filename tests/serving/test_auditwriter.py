"""The batched audit writer loses nothing, even when events race with shutdown."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
import uvicorn

from bastion.audit import EventInput, open_audit_log
from bastion.serving import create_app, key_store_from_settings
from bastion.serving.auditwriter import AuditWriter
from tests.serving.conftest import make_settings


class SlowSink:
    """Records batches; each write takes a moment so the queue really backs up."""

    def __init__(self) -> None:
        self.events: list[EventInput] = []
        self._lock = threading.Lock()

    def append_many(self, events: Sequence[EventInput]) -> Sequence[object]:
        time.sleep(0.002)
        with self._lock:
            self.events.extend(events)
        return list(events)


def _event(n: int) -> EventInput:
    return EventInput("p", "gateway:request", "route:test", "allow", {"n": n})


@pytest.mark.parametrize("close_after", [0, 50, 400])
def test_events_submitted_during_close_are_all_written(close_after: int) -> None:
    sink = SlowSink()
    writer = AuditWriter(sink, batch_size=7, flush_seconds=0.01)
    threads, per_thread = 6, 150
    started = threading.Barrier(threads + 1)
    submitted: list[int] = []
    lock = threading.Lock()

    def produce(base: int) -> None:
        started.wait()
        for i in range(per_thread):
            writer.submit(_event(base + i))
            with lock:
                submitted.append(base + i)

    workers = [threading.Thread(target=produce, args=(t * 1000,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    started.wait()
    while True:  # close while producers are still submitting
        with lock:
            if len(submitted) >= close_after:
                break
        time.sleep(0.0005)
    writer.close()
    for worker in workers:
        worker.join()
    written = sorted(int(e.details["n"]) for e in sink.events if e.details)
    assert len(written) == threads * per_thread
    assert written == sorted(submitted)
    assert writer.written == threads * per_thread
    assert writer.flush(1)


def test_close_drains_a_queue_larger_than_one_batch() -> None:
    sink = SlowSink()
    writer = AuditWriter(sink, batch_size=3, flush_seconds=5)
    for i in range(100):
        writer.submit(_event(i))
    writer.close()
    assert [e.details["n"] for e in sink.events if e.details] == list(range(100))


def test_a_full_batch_is_written_without_waiting_out_the_linger() -> None:
    """A full batch wakes the writer at once; a partial one waits for flush, close or linger."""

    class CountingSink(SlowSink):
        def __init__(self) -> None:
            super().__init__()
            self.batches: list[int] = []
            self.wrote = threading.Event()

        def append_many(self, events: Sequence[EventInput]) -> Sequence[object]:
            written = super().append_many(events)
            self.batches.append(len(events))
            self.wrote.set()
            return written

    sink = CountingSink()
    writer = AuditWriter(sink, batch_size=5, flush_seconds=3600)  # the linger never ends alone
    for i in range(5):
        writer.submit(_event(i))
    assert sink.wrote.wait(30), "a full batch was not written"
    deadline = time.monotonic() + 30
    while writer.written < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.written == 5
    for i in range(5, 7):
        writer.submit(_event(i))
    writer.close()
    assert sink.batches == [5, 2]
    assert [e.details["n"] for e in sink.events if e.details] == list(range(7))
    assert writer.written == 7


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_gateway_shutdown_under_load_audits_every_served_request(tmp_path: Path) -> None:
    """A real uvicorn gateway is stopped while clients are sending; audit count == served."""
    settings = make_settings(tmp_path / "home", audit_flush_seconds=0.2, audit_batch_size=16)
    key = key_store_from_settings(settings).create("loader", ["predict"]).plaintext
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started

    served = 0
    lock = threading.Lock()
    stop_sending = threading.Event()

    def send() -> None:
        nonlocal served
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(400):  # bounded
                if stop_sending.is_set():
                    return
                try:
                    response = client.post(
                        "/v1/predict", json={"inputs": ["fine"]}, headers={"X-API-Key": key}
                    )
                except httpx.HTTPError:
                    return  # the server is shutting down: the request was not served
                with lock:
                    served += 1
                assert response.status_code == 200

    senders = [threading.Thread(target=send) for _ in range(4)]
    for sender in senders:
        sender.start()
    while True:
        with lock:
            if served >= 40:
                break
        time.sleep(0.005)
    server.should_exit = True  # graceful shutdown while requests are in flight
    thread.join(30)
    stop_sending.set()
    for sender in senders:
        sender.join(30)
    assert not thread.is_alive()
    with open_audit_log(settings) as log:
        events = log.query(action="gateway:request")
    assert served >= 40
    assert len(events) == served

"""Request audit events, written in batches off the request path.

Handlers enqueue one event per request and return; a background thread writes
them with ``append_many`` (one transaction per batch).  After the first event
of a batch arrives the thread lingers up to ``flush_seconds`` for more (or until
``batch_size``), because each transaction costs a commit, a chain-head read and
an fsync: one event per transaction costs ~7x the CPU of one event in a batch of
32, and that CPU is taken from the same core the event loop runs on.  A
:meth:`flush` or :meth:`close` ends the lingering at once.
A failed write keeps the batch and retries, and :meth:`close` drains the
queue before returning, so graceful shutdown loses nothing: ``submit`` and
``close`` share a lock, so every accepted event is queued before the stop
marker, the thread drains the queue completely once it sees that marker, and
an event that arrives after ``close`` (a request finishing during shutdown) is
written synchronously instead of being dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from bastion.audit import EventInput

log = logging.getLogger(__name__)


class _Flush:
    """Queued by :meth:`AuditWriter.flush`: write what is pending now, stop lingering."""


_FLUSH = _Flush()


class BatchSink(Protocol):
    """What the writer needs from an audit log."""

    def append_many(self, events: Sequence[EventInput]) -> Sequence[Any]: ...


class AuditWriter:
    """A queue and a thread in front of an audit log."""

    def __init__(
        self,
        sink: BatchSink,
        *,
        batch_size: int = 256,
        flush_seconds: float = 0.5,
        retry_seconds: float = 1.0,
    ) -> None:
        self._sink = sink
        self._queue: queue.SimpleQueue[EventInput | _Flush | None] = queue.SimpleQueue()
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._retry_seconds = retry_seconds
        self._pending: list[EventInput] = []
        self._written = 0
        self._failures = 0
        self._idle = threading.Condition()
        self._gate = threading.Lock()  # orders submit() against close()'s stop marker
        self._enqueued = 0
        self._thread = threading.Thread(target=self._run, name="bastion-audit-writer", daemon=True)
        self._closed = False
        self._thread.start()

    @property
    def written(self) -> int:
        """Events durably appended so far."""
        return self._written

    @property
    def failures(self) -> int:
        """Batch writes that failed (and were retried)."""
        return self._failures

    def submit(self, event: EventInput) -> None:
        """Enqueue one event; never blocks on the database while the writer runs.

        After :meth:`close` the event is written synchronously, so a request that
        finishes during shutdown is still audited.
        """
        with self._gate:
            if not self._closed:
                with self._idle:
                    self._enqueued += 1
                self._queue.put(event)
                return
        self._write_late(event)

    def _write_late(self, event: EventInput) -> None:
        with self._idle:
            self._enqueued += 1
        self._sink.append_many([event])
        with self._idle:
            self._written += 1
            self._idle.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event submitted so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        self._queue.put(_FLUSH)
        with self._idle:
            while self._written < self._enqueued:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting events, write everything queued, and stop the thread."""
        with self._gate:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout)

    def _collect(self) -> bool:
        """Move queued events into the pending batch; False once the stop marker is seen.

        Lingers up to ``flush_seconds`` after the first event for a fuller batch.
        After the marker the queue is drained to the end, whatever the batch size,
        so nothing submitted before (or racing with) ``close`` stays behind.
        """
        try:
            first = self._queue.get(timeout=self._flush_seconds)
        except queue.Empty:
            return True
        if first is None:
            self._drain()
            return False
        if isinstance(first, _Flush):
            return True
        self._pending.append(first)
        deadline = time.monotonic() + self._flush_seconds
        while len(self._pending) < self._batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    item = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if item is None:
                self._drain()
                return False
            if isinstance(item, _Flush):
                break
            self._pending.append(item)
        return True

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, EventInput):
                self._pending.append(item)

    def _write_pending(self) -> bool:
        while self._pending:
            batch = self._pending[: self._batch_size]
            try:
                self._sink.append_many(batch)
            except Exception as exc:  # keep the batch and retry: an audit event is never dropped
                self._failures += 1
                log.error("audit batch of %d failed (%s); retrying", len(batch), exc)
                return False
            del self._pending[: len(batch)]
            with self._idle:
                self._written += len(batch)
                self._idle.notify_all()
        return True

    def _run(self) -> None:
        running = True
        while running or self._pending:
            if running:
                running = self._collect()
            if not self._write_pending():
                time.sleep(self._retry_seconds)
                if not running and self._failures > 50:
                    log.critical("giving up on %d audit events at shutdown", len(self._pending))
                    return

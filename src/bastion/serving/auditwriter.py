"""Request audit events, written in batches off the request path.

Handlers enqueue one event per request and return; a background thread writes
them with ``append_many`` (one transaction per batch).  After the first event
of a batch arrives the thread lingers up to ``flush_seconds`` for more (or until
``batch_size``), because each transaction costs a commit, a chain-head read and
an fsync: one event per transaction costs ~7x the CPU of one event in a batch of
32, and that CPU is taken from the same core the event loop runs on.  The thread
is woken once per batch, not once per event (the first event of a batch and a
full batch signal it; events in between are only appended to a deque), since a
wake-up per event cost two context switches on the event loop's core.  A
:meth:`flush` or :meth:`close` ends the lingering at once.
A failed write keeps the batch and retries, and :meth:`close` drains the
buffer before returning, so graceful shutdown loses nothing: ``submit`` and
``close`` share a lock, so every accepted event is buffered before the writer
is told to stop, the writer takes the whole buffer under that lock once it has
been told, and an event that arrives after ``close`` (a request finishing
during shutdown) is written synchronously instead of being dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol

from bastion.audit import EventInput

log = logging.getLogger(__name__)


class BatchSink(Protocol):
    """What the writer needs from an audit log."""

    def append_many(self, events: Sequence[EventInput]) -> Sequence[Any]: ...


class AuditWriter:
    """A buffer and a thread in front of an audit log."""

    GIVE_UP_AFTER = 50  # failed batch writes at shutdown before the rest is reported lost

    def __init__(
        self,
        sink: BatchSink,
        *,
        batch_size: int = 256,
        flush_seconds: float = 0.5,
        retry_seconds: float = 1.0,
    ) -> None:
        self._sink = sink
        self._batch_size = max(1, batch_size)
        self._flush_seconds = flush_seconds
        self._retry_seconds = retry_seconds
        self._buffer: deque[EventInput] = deque()  # accepted, not yet taken by the thread
        self._pending: list[EventInput] = []  # taken by the thread, not yet written
        self._lock = threading.Lock()  # buffer, counters, closed flag
        self._arrived = threading.Event()  # the buffer got its first event (or flush/close)
        self._hurry = threading.Event()  # a full batch, a flush or close: stop lingering
        self._idle = threading.Condition()  # flush() waits here for _written
        self._enqueued = 0
        self._written = 0
        self._failures = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="bastion-audit-writer", daemon=True)
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
        """Buffer one event; never blocks on the database while the writer runs.

        After :meth:`close` the event is written synchronously, so a request that
        finishes during shutdown is still audited.
        """
        with self._lock:
            if not self._closed:
                self._enqueued += 1
                buffer = self._buffer
                buffer.append(event)
                size = len(buffer)
                if size == 1:
                    self._arrived.set()
                elif size == self._batch_size:
                    self._hurry.set()
                return
            self._enqueued += 1
        self._sink.append_many([event])
        self._count_written(1)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event submitted so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            target = self._enqueued
            self._hurry.set()
            self._arrived.set()
        with self._idle:
            while self._written < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting events, write everything buffered, and stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._hurry.set()
            self._arrived.set()
        self._thread.join(timeout)

    def _count_written(self, count: int) -> None:
        with self._idle:
            self._written += count
            self._idle.notify_all()

    def _take(self) -> bool:
        """Move the buffer into the pending batch; True once close() was called.

        Once ``_closed`` is seen under the lock no event can join the buffer any
        more (``submit`` writes late events itself), so this take is the last.
        """
        with self._lock:
            self._arrived.clear()
            self._hurry.clear()
            self._pending.extend(self._buffer)
            self._buffer.clear()
            return self._closed

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
            self._count_written(len(batch))
        return True

    def _run(self) -> None:
        closing = False
        while True:
            if not self._pending and not closing:
                self._arrived.wait()
                # Linger for a fuller batch unless a full batch, flush or close says not to.
                self._hurry.wait(self._flush_seconds)
            closing = self._take() or closing
            if self._write_pending():
                if closing:
                    return
                continue
            if closing and self._failures > self.GIVE_UP_AFTER:
                log.critical("giving up on %d audit events at shutdown", len(self._pending))
                return
            time.sleep(self._retry_seconds)

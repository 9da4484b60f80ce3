"""Verification: one streaming pass that recomputes every hash and every checkpoint root.

Rows are read in sequence order in batches (keyset pagination, no long-lived
cursor).  For each event we check its position, recompute its hash, check its
link to the previous event, and extend a Merkle frontier; whenever the tree
reaches the size of a checkpoint (from the database or the witness file) we
compare the root, chain head and signature.  The pass stops at the first
failure and names the event.  Afterwards, any checkpoint larger than the log
means the tail was truncated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from hashlib import sha256
from operator import itemgetter
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from bastion.audit.checkpoints import Checkpoint, read_witness
from bastion.audit.events import GENESIS_HASH, SEPARATOR_COUNT
from bastion.audit.merkle import NODE_PREFIX, Frontier
from bastion.audit.rangescan import (
    SEPARATOR_BYTE,
    RangeResult,
    RangeWorker,
    event_rows,
    fork_available,
    last_seq,
)
from bastion.audit.store import Tables
from bastion.core.errors import ValidationError

# Below this many events one process is faster (forking and a second connection
# cost more than they save); above it the tail is checked in a child process.
PARALLEL_MIN_EVENTS = 50_000
# The child also builds the Merkle subtrees of its range, so about half each.
PARENT_SHARE = 0.5
BLOCK_BITS = 8
_PAYLOAD = itemgetter(2)


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """The outcome of :meth:`AuditLog.verify`."""

    ok: bool
    events_checked: int
    checkpoints_checked: int
    witness_entries_checked: int
    signatures_verified: bool
    first_bad_event_id: str | None = None
    first_bad_seq: int | None = None
    reason: str | None = None

    def summary(self) -> str:
        """One line for people."""
        if self.ok:
            signed = "signatures verified" if self.signatures_verified else "signatures NOT checked"
            return (
                f"audit log intact: {self.events_checked} events, "
                f"{self.checkpoints_checked} checkpoints, "
                f"{self.witness_entries_checked} witness entries ({signed})"
            )
        where = f"event {self.first_bad_event_id}" if self.first_bad_event_id else "audit log"
        seq = f" (seq {self.first_bad_seq})" if self.first_bad_seq is not None else ""
        return f"TAMPERED: {where}{seq}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Anchor:
    checkpoint: Checkpoint
    source: str  # "database" or "witness line N"
    message: bytes  # checkpoint.message(), built once

    @property
    def signed(self) -> tuple[bytes, str]:
        return self.message, self.checkpoint.signature


def _anchor(checkpoint: Checkpoint, source: str) -> _Anchor:
    return _Anchor(checkpoint, source, checkpoint.message())


class _TamperFoundError(Exception):
    def __init__(self, reason: str, event_id: str | None, seq: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id
        self.seq = seq


def _checkpoint_rows(engine: Engine, tables: Tables) -> list[Checkpoint]:
    from bastion.audit.log import checkpoint_from_row

    table = tables.checkpoints
    with engine.connect() as conn:
        rows = conn.execute(table.select().order_by(table.c.tree_size)).fetchall()
    return [checkpoint_from_row(row) for row in rows]


def verify_log(
    engine: Engine,
    tables: Tables,
    public_key: Ed25519PublicKey | None,
    witness_path: Path | None,
    *,
    parallel: bool | None = None,
) -> VerificationReport:
    """Verify chain, checkpoints and witness; see the module docstring.

    ``parallel``: ``None`` splits the work across two processes for logs of at
    least ``PARALLEL_MIN_EVENTS`` events (when forking is safe); ``True`` forces
    the split at any size and ``False`` forbids it.  The report is the same.
    """
    # Witness first, then checkpoints, then events: each later read sees at least
    # the events the earlier one commits to, so concurrent appends cause no false alarm.
    anchors: dict[int, list[_Anchor]] = {}
    witness_count = 0
    try:
        if witness_path is not None:
            for entry in read_witness(witness_path):
                anchors.setdefault(entry.checkpoint.tree_size, []).append(
                    _anchor(entry.checkpoint, f"witness line {entry.line}")
                )
                witness_count += 1
    except ValidationError as exc:
        return VerificationReport(
            ok=False,
            events_checked=0,
            checkpoints_checked=0,
            witness_entries_checked=0,
            signatures_verified=public_key is not None,
            reason=f"witness file is malformed: {exc}",
        )
    db_checkpoints = _checkpoint_rows(engine, tables)
    for checkpoint in db_checkpoints:
        anchors.setdefault(checkpoint.tree_size, []).append(_anchor(checkpoint, "database"))

    state = _Scan(anchors, public_key)
    try:
        state = _scan_events(engine, tables, state, parallel)
        state.finish()
    except _TamperFoundError as failure:
        return VerificationReport(
            ok=False,
            events_checked=state.count,
            checkpoints_checked=state.checkpoints_checked,
            witness_entries_checked=witness_count,
            signatures_verified=public_key is not None,
            first_bad_event_id=failure.event_id,
            first_bad_seq=failure.seq,
            reason=failure.reason,
        )
    return VerificationReport(
        ok=True,
        events_checked=state.count,
        checkpoints_checked=state.checkpoints_checked,
        witness_entries_checked=witness_count,
        signatures_verified=public_key is not None,
    )


def _scan_events(engine: Engine, tables: Tables, state: _Scan, parallel: bool | None) -> _Scan:
    """Run every event through ``state``, the tail range in a child process if worthwhile."""
    plan = _split_point(engine, tables, parallel)
    if plan is None:
        for batch in event_rows(engine, tables):
            state.scan(batch)
        return state
    split, block_bits = plan
    # The child also checks the signatures of the checkpoints in its range (one
    # Ed25519 verification each is a visible share of the work).
    tail_checkpoints = state.unverified_signatures(after=split)
    with RangeWorker(
        engine, tables, split, state.sizes, block_bits, state.public_key, tail_checkpoints
    ) as worker:
        for batch in event_rows(engine, tables, before=split):
            state.scan(batch)
        result = worker.result()
    state.good_signatures.update(
        (message, checkpoint.signature)
        for index, (message, checkpoint) in enumerate(tail_checkpoints)
        if index in result.valid_signatures
    )
    folded = state.fold(split, result)
    if folded is not None:
        return folded
    # The child or the fold found something (or the head range ended early):
    # re-scan the tail here so the report is exactly the sequential one.
    for batch in event_rows(engine, tables, after=split - 1):
        state.scan(batch)
    return state


def _split_point(engine: Engine, tables: Tables, parallel: bool | None) -> tuple[int, int] | None:
    """Where the child's range starts, and its Merkle block size (log2), or None."""
    if parallel is False or not fork_available():
        return None
    size = last_seq(engine, tables) + 1
    if size < 2 or (parallel is None and size < PARALLEL_MIN_EVENTS):
        return None
    # Blocks of 256 events let the child send one root per block; a split on a
    # block boundary keeps those blocks aligned with the global tree.
    block_bits = BLOCK_BITS if size >= 8 << BLOCK_BITS else 0
    block = 1 << block_bits
    split = max(block, round(size * PARENT_SHARE / block) * block)
    return (split, block_bits) if split < size else None


class _Scan:
    """The running state of one verification pass."""

    def __init__(self, anchors: dict[int, list[_Anchor]], public_key: Ed25519PublicKey | None):
        self.anchors = anchors
        self.sizes = sorted(anchors)
        self.next_anchor_index = 0
        self.public_key = public_key
        self.count = 0
        self.prev = GENESIS_HASH
        self.prev2: bytes | None = None
        self.prev_id: str | None = None
        self.frontier = Frontier()
        self.checkpoints_checked = 0
        self.range_start: tuple[str, int] | None = None  # first event after the last good anchor
        self.good_signatures: set[tuple[bytes, str]] = set()  # db row and witness often agree

    def scan(self, batch: Sequence[Any]) -> None:
        """Check one batch of ``(seq, event_id, payload, prev_hash, hash)`` rows.

        The fast pass below handles the intact case; at the first sign of
        trouble the state is put back and :meth:`_scan_exact` re-checks the batch
        row by row, so a finding is always the one the exact pass reports.
        """
        saved = self.copy()
        try:
            if self._scan_fast(batch):
                return
        except (_TamperFoundError, TypeError, ValueError, AttributeError):
            pass
        self._restore(saved)
        self._scan_exact(batch)

    def _restore(self, saved: _Scan) -> None:
        self.next_anchor_index = saved.next_anchor_index
        self.count = saved.count
        self.prev, self.prev2, self.prev_id = saved.prev, saved.prev2, saved.prev_id
        self.frontier = saved.frontier
        self.checkpoints_checked = saved.checkpoints_checked
        self.range_start = saved.range_start

    def _scan_fast(self, batch: Sequence[Any]) -> bool:
        """True when every row of ``batch`` is intact (state advanced past it).

        Per row only what must be per row: position, link, hash.  The Merkle
        tree is extended level by level between checkpoints, and the separator
        check runs once over the whole batch: every payload carries exactly
        ``SEPARATOR_COUNT`` separators from the query that joins its fields, so
        the batch total exceeds ``SEPARATOR_COUNT * len(batch)`` exactly when some
        field contains one.
        """
        if not batch:
            return True
        start = expected = self.count
        prev = self.prev
        frontier = self.frontier
        sizes = self.sizes
        next_size = sizes[self.next_anchor_index] if self.next_anchor_index < len(sizes) else -1
        leaves: list[bytes] = []
        add = leaves.append
        after_anchor = 0  # index in batch of the row after the last checkpoint closed
        for seq, event_id, payload, ph, stored in batch:
            if seq != expected or ph != prev:
                return False
            prev = sha256(payload + ph).digest()
            if prev != stored:
                return False
            add(prev)
            expected += 1
            if expected == next_size:
                frontier.extend(leaves)
                leaves = []
                add = leaves.append
                self._check_anchors(expected, event_id, prev)
                after_anchor = expected - start
                next_size = (
                    sizes[self.next_anchor_index] if self.next_anchor_index < len(sizes) else -1
                )
        if b"".join(map(_PAYLOAD, batch)).count(SEPARATOR_BYTE) != SEPARATOR_COUNT * len(batch):
            return False
        frontier.extend(leaves)
        # As the exact pass leaves it: the first event after the last checkpoint closed.
        if after_anchor:
            row = batch[after_anchor] if after_anchor < len(batch) else None
            self.range_start = (row[1], row[0]) if row is not None else None
        elif self.range_start is None:
            self.range_start = (batch[0][1], batch[0][0])
        self.prev2 = batch[-2][4] if len(batch) > 1 else self.prev
        self.prev = prev
        self.prev_id = batch[-1][1]
        self.count = expected
        return True

    def _scan_exact(self, batch: Sequence[Any]) -> None:
        """Row by row, raising the finding for the first bad event."""
        # Locals for speed: this loop is the verification throughput.
        sep = SEPARATOR_BYTE
        want_seps = SEPARATOR_COUNT
        node_prefix = NODE_PREFIX
        nodes = self.frontier._nodes
        expected = self.count
        prev = self.prev
        prev2 = self.prev2
        prev_id = self.prev_id
        sizes = self.sizes
        next_size = sizes[self.next_anchor_index] if self.next_anchor_index < len(sizes) else -1
        row: Any = None
        try:
            for row in batch:
                seq, event_id, payload, ph, stored = row
                if seq != expected:
                    missing = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
                    raise _TamperFoundError(
                        f"sequence gap: event(s) at seq {missing} were deleted before this event",
                        event_id,
                        seq,
                    )
                if payload.count(sep) != want_seps:
                    raise _TamperFoundError("a field contains a separator character", event_id, seq)
                computed = sha256(payload + ph).digest()
                if computed != stored:
                    raise _TamperFoundError(
                        "contents changed: stored hash does not match the event's fields",
                        event_id,
                        seq,
                    )
                if ph != prev:
                    if prev2 is not None and ph == prev2 and prev_id is not None:
                        raise _TamperFoundError(
                            "inserted: the next event's prev_hash skips over this event",
                            prev_id,
                            seq - 1,
                        )
                    raise _TamperFoundError(
                        "chain broken: prev_hash does not link to the preceding event "
                        "(reordered, inserted or deleted)",
                        event_id,
                        seq,
                    )
                if self.range_start is None:
                    self.range_start = (event_id, seq)
                prev2 = prev
                prev = computed
                prev_id = event_id
                # Frontier append, inlined.
                node = computed
                size = expected + 1
                while not size & 1:
                    node = sha256(node_prefix + nodes.pop() + node).digest()
                    size >>= 1
                nodes.append(node)
                expected += 1
                if expected == next_size:
                    self.frontier.size = expected
                    self._check_anchors(expected, event_id, computed)
                    next_size = (
                        sizes[self.next_anchor_index] if self.next_anchor_index < len(sizes) else -1
                    )
        except (TypeError, ValueError, AttributeError) as exc:
            seq_value = row[0] if row is not None else None
            event_value = row[1] if row is not None and isinstance(row[1], str) else None
            raise _TamperFoundError(
                f"malformed row ({type(exc).__name__})", event_value, seq_value
            ) from None
        finally:
            self.frontier.size = expected
            self.count = expected
            self.prev = prev
            self.prev2 = prev2
            self.prev_id = prev_id

    def copy(self) -> _Scan:
        twin = _Scan(self.anchors, self.public_key)
        twin.next_anchor_index = self.next_anchor_index
        twin.count = self.count
        twin.prev, twin.prev2, twin.prev_id = self.prev, self.prev2, self.prev_id
        twin.frontier = self.frontier.copy()
        twin.checkpoints_checked = self.checkpoints_checked
        twin.range_start = self.range_start
        twin.good_signatures = self.good_signatures
        return twin

    def fold(self, start: int, result: RangeResult) -> _Scan | None:
        """The state after the child's range, or None if anything is off (then re-scan).

        Only accepted when this pass ended exactly at ``start`` and the child's
        range links to it; checkpoint failures also return None so that the
        sequential re-scan names them (with the first changed event).
        """
        if not result.ok or self.count != start:
            return None
        count = result.count
        if count == 0:
            return self
        if result.first_prev != self.prev:
            return None
        twin = self.copy()
        nodes = twin.frontier._nodes
        node_prefix = NODE_PREFIX
        sizes = twin.sizes
        next_size = sizes[twin.next_anchor_index] if twin.next_anchor_index < len(sizes) else -1
        bits = result.block_bits
        blob = result.nodes
        expected = start
        offset = 0
        try:
            for entry in result.blocks:
                # entry 0: one root of 2**bits events; n > 0: n leaf hashes.
                level, steps = (bits, 1) if entry == 0 else (0, entry)
                for _ in range(steps):
                    node = blob[offset : offset + 32]
                    offset += 32
                    units = (expected >> level) + 1
                    while not units & 1:
                        node = sha256(node_prefix + nodes.pop() + node).digest()
                        units >>= 1
                    nodes.append(node)
                    expected += 1 << level
                    if expected == next_size:
                        twin.frontier.size = expected
                        head_id, head_hash = result.heads[expected]
                        twin._check_anchors(expected, head_id, head_hash)
                        next_size = (
                            sizes[twin.next_anchor_index]
                            if twin.next_anchor_index < len(sizes)
                            else -1
                        )
                    elif next_size != -1 and expected > next_size:
                        return None  # a checkpoint inside a block sent as one root
        except (_TamperFoundError, KeyError):
            return None
        if expected != start + count or offset != len(blob):
            return None
        twin.frontier.size = twin.count = expected
        twin.prev = result.last_hash
        twin.prev2 = result.before_last_hash if count > 1 else self.prev
        twin.prev_id = result.last_id
        twin.range_start = None
        return twin

    def unverified_signatures(self, *, after: int) -> list[tuple[bytes, Checkpoint]]:
        """Distinct (message, checkpoint) pairs of anchors beyond ``after`` events."""
        if self.public_key is None:
            return []
        pending: dict[tuple[bytes, str], Checkpoint] = {}
        for size in self.sizes:
            if size > after:
                for anchor in self.anchors[size]:
                    pending.setdefault(anchor.signed, anchor.checkpoint)
        return [(message, checkpoint) for (message, _sig), checkpoint in pending.items()]

    def _signature_ok(self, anchor: _Anchor) -> bool:
        if self.public_key is None:
            return True
        signed = anchor.signed
        if signed in self.good_signatures:
            return True
        if anchor.checkpoint.signature_valid(self.public_key, anchor.message):
            self.good_signatures.add(signed)
            return True
        return False

    def _check_anchors(self, size: int, head_id: str, head_hash: bytes) -> None:
        root = self.frontier.root()
        for anchor in self.anchors[size]:
            checkpoint = anchor.checkpoint
            if not self._signature_ok(anchor):
                raise _TamperFoundError(
                    f"checkpoint at tree size {size} ({anchor.source}) has an invalid signature "
                    "or was signed with another key",
                    head_id,
                    size - 1,
                )
            if checkpoint.root != root.hex() or checkpoint.head_hash != head_hash.hex():
                start_id, start_seq = self.range_start or (head_id, size - 1)
                raise _TamperFoundError(
                    f"events from seq {start_seq} to {size - 1} do not match the signed "
                    f"checkpoint at tree size {size} ({anchor.source}): rewritten with "
                    "recomputed hashes",
                    start_id,
                    start_seq,
                )
            if checkpoint.head_event_id != head_id:
                raise _TamperFoundError(
                    f"checkpoint at tree size {size} ({anchor.source}) names another head event",
                    head_id,
                    size - 1,
                )
            if anchor.source == "database":  # witness entries are counted separately
                self.checkpoints_checked += 1
        self.range_start = None
        self.next_anchor_index += 1

    def finish(self) -> None:
        """After the last row: a checkpoint beyond the end means the tail was removed."""
        if self.next_anchor_index >= len(self.sizes):
            return
        size = self.sizes[self.next_anchor_index]
        anchor = self.anchors[size][0]
        checkpoint = anchor.checkpoint
        if not self._signature_ok(anchor):
            raise _TamperFoundError(
                f"checkpoint at tree size {size} ({anchor.source}) has an invalid signature "
                "or was signed with another key",
                checkpoint.head_event_id,
                size - 1,
            )
        missing = f"{self.count}" if size - 1 == self.count else f"{self.count}..{size - 1}"
        raise _TamperFoundError(
            f"log truncated: the checkpoint at tree size {size} ({anchor.source}) covers "
            f"{size} events but only {self.count} remain; events at seq {missing} are missing "
            f"(the last of them is {checkpoint.head_event_id})",
            checkpoint.head_event_id,
            size - 1,
        )

"""Reading event rows fast, and checking one range of the chain in a forked process.

Verification is bound by Python work per row (decode, hash, compare), so on a
large log :func:`bastion.audit.verify.verify_log` checks the tail range in a
child process while the parent checks the head range.  The child recomputes
every event hash and every link inside its range and sends back the leaf
Merkle roots of aligned blocks of events (leaf hashes where a checkpoint falls
inside a block) and the events that close a checkpoint; the parent links the
ranges, folds the Merkle tree over those roots and compares checkpoints.  The
child never reports a finding itself: any doubt and the parent re-scans that
range sequentially, so a tampered log gets exactly the sequential report.

The child is forked (cheap: no re-import) and only from a single-threaded
process; it opens its own database connection and never touches the parent's.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from hashlib import sha256
from multiprocessing.connection import Connection as PipeEnd
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from bastion.audit.checkpoints import Checkpoint
from bastion.audit.events import FORMAT_TAG, SEPARATOR, SEPARATOR_COUNT
from bastion.audit.merkle import NODE_PREFIX
from bastion.audit.store import Tables

BATCH_SIZE = 20_000
HASH_SIZE = 32
# In a child: the parent's pool, kept referenced so that garbage collection never
# closes the parent's connections from here (the child ends with os._exit).
_INHERITED_POOLS: list[object] = []


_HASHED_FIELDS = ("event_id", "ts", "principal", "action", "resource", "outcome", "details")
SEPARATOR_BYTE = SEPARATOR.encode()


def _payload_sql(dialect: str) -> str:
    """SQL for the bytes an event's hash covers, minus ``prev_hash``.

    ``\\x00``, the format tag and the seven fields joined by the separator, built
    by the database: one bytes value per row instead of eight Python strings to
    decode, join and re-encode (the single largest cost of verification).  NULL
    when a field is NULL or (SQLite) not text, which the scan reports as a
    malformed row.
    """
    code = ord(SEPARATOR)
    if dialect == "sqlite":
        joined = f" || char({code}) || ".join(_HASHED_FIELDS)
        typed = " AND ".join(f"typeof({name}) = 'text'" for name in _HASHED_FIELDS)
        return (
            f"CASE WHEN {typed} THEN "
            f"CAST(x'00' || '{FORMAT_TAG}' || char({code}) || {joined} AS BLOB) END"
        )
    joined = f" || chr({code}) || ".join(_HASHED_FIELDS)
    return f"'\\x00'::bytea || convert_to('{FORMAT_TAG}' || chr({code}) || {joined}, 'UTF8')"


def _select_sql(tables: Tables, dialect: str, *, bounded: bool) -> str:
    """Keyset-paginated SELECT (``seq > ?``, optionally ``seq < ?``) of
    ``(seq, event_id, payload, prev_hash, hash)``; see :func:`_payload_sql`."""
    mark = "?" if dialect == "sqlite" else "%s"
    upper = f" AND seq < {mark}" if bounded else ""
    return (
        f"SELECT seq, event_id, {_payload_sql(dialect)}, prev_hash, hash "  # noqa: S608 - constants
        f"FROM {tables.events.name} WHERE seq > {mark}{upper} "
        f"ORDER BY seq LIMIT {BATCH_SIZE}"
    )


def event_rows(
    engine: Engine, tables: Tables, *, after: int = -1, before: int | None = None
) -> Iterator[Sequence[Any]]:
    """Batches of ``(seq, event_id, payload, prev_hash, hash)`` tuples in sequence
    order, ``after < seq (< before)``; the event hash is ``sha256(payload + prev_hash)``.

    Reads through the DB-API cursor (no SQLAlchemy row objects: they cost as much
    as the hashing) and ends the read transaction after every batch.
    """
    sql = _select_sql(tables, engine.dialect.name, bounded=before is not None)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        last = after
        while True:
            cursor.execute(sql, (last,) if before is None else (last, before))
            batch = cursor.fetchall()
            raw.rollback()
            if not batch:
                return
            yield batch
            last = batch[-1][0]
    finally:
        raw.close()


def last_seq(engine: Engine, tables: Tables) -> int:
    """The highest sequence number (-1 for an empty log): sizes the parallel split."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT MAX(seq) FROM {tables.events.name}")  # noqa: S608 - validated
        found = cursor.fetchone()
        raw.rollback()
    finally:
        raw.close()
    value = found[0] if found else None
    return value if isinstance(value, int) else -1


@dataclass(frozen=True, slots=True)
class RangeResult:
    """What the child found for ``seq >= start``: all hashes and links good, or not.

    ``nodes`` holds, per block of ``2**block_bits`` events (aligned on the global
    sequence), either the Merkle root of the block (``blocks`` entry 0) or, for
    the last partial block and blocks with a checkpoint inside, the leaf hashes
    (entry = their count).  ``heads`` maps each checkpoint size in the range to
    the id and hash of the event that closes it.
    """

    ok: bool
    count: int = 0
    first_prev: bytes = b""
    last_hash: bytes = b""
    before_last_hash: bytes = b""
    last_id: str | None = None
    block_bits: int = 0
    blocks: tuple[int, ...] = ()
    nodes: bytes = b""
    heads: dict[int, tuple[str, bytes]] = field(default_factory=dict)
    valid_signatures: frozenset[int] = frozenset()  # indexes into the checkpoints sent


def fork_available() -> bool:
    """Forking is safe only without other threads (their locks would be copied held)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _block_root(leaves: list[bytes]) -> bytes:
    """Root of a perfect subtree (``len(leaves)`` is a power of two)."""
    level = leaves
    while len(level) > 1:
        level = [
            sha256(NODE_PREFIX + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)
        ]
    return level[0]


def check_range(
    engine: Engine,
    tables: Tables,
    start: int,
    anchor_sizes: Collection[int],
    block_bits: int,
) -> RangeResult:
    """Recompute hashes, links and block roots of every event with ``seq >= start``.

    ``start`` must be a multiple of ``2**block_bits``.
    """
    block = 1 << block_bits
    sep, want_seps = SEPARATOR_BYTE, SEPARATOR_COUNT
    expected = start
    first_prev: bytes | None = None
    prev = before_prev = b""
    last_id: str | None = None
    pending: list[bytes] = []  # leaves of the current block
    split_block = False  # a checkpoint falls strictly inside the current block
    blocks: list[int] = []
    out: list[bytes] = []
    heads: dict[int, tuple[str, bytes]] = {}
    try:
        for batch in event_rows(engine, tables, after=start - 1):
            for seq, event_id, payload, ph, stored in batch:
                if seq != expected:
                    return RangeResult(ok=False)
                if payload.count(sep) != want_seps:
                    return RangeResult(ok=False)
                computed = sha256(payload + ph).digest()
                if computed != stored:
                    return RangeResult(ok=False)
                if first_prev is None:
                    if not isinstance(ph, bytes):
                        return RangeResult(ok=False)
                    first_prev = ph
                elif ph != prev:
                    return RangeResult(ok=False)
                before_prev = prev
                prev = computed
                last_id = event_id
                pending.append(computed)
                expected += 1
                if expected in anchor_sizes:
                    heads[expected] = (event_id, computed)
                    split_block = split_block or expected % block != 0
                if expected % block == 0:
                    if split_block:
                        blocks.append(block)
                        out.extend(pending)
                    else:
                        blocks.append(0)
                        out.append(_block_root(pending))
                    pending = []
                    split_block = False
    except (TypeError, ValueError, AttributeError):
        return RangeResult(ok=False)
    if pending:
        blocks.append(len(pending))
        out.extend(pending)
    return RangeResult(
        ok=True,
        count=expected - start,
        first_prev=first_prev or b"",
        last_hash=prev,
        before_last_hash=before_prev,
        last_id=last_id,
        block_bits=block_bits,
        blocks=tuple(blocks),
        nodes=b"".join(out),
        heads=heads,
    )


def _encode(result: RangeResult) -> bytes:
    header = {
        "ok": result.ok,
        "count": result.count,
        "first_prev": result.first_prev.hex(),
        "last_hash": result.last_hash.hex(),
        "before_last_hash": result.before_last_hash.hex(),
        "last_id": result.last_id,
        "block_bits": result.block_bits,
        "blocks": list(result.blocks),
        "heads": {str(size): [eid, digest.hex()] for size, (eid, digest) in result.heads.items()},
        "valid_signatures": sorted(result.valid_signatures),
    }
    return json.dumps(header).encode()


def _decode(header_bytes: bytes, nodes: bytes) -> RangeResult:
    header = json.loads(header_bytes)
    return RangeResult(
        ok=bool(header["ok"]),
        count=int(header["count"]),
        first_prev=bytes.fromhex(header["first_prev"]),
        last_hash=bytes.fromhex(header["last_hash"]),
        before_last_hash=bytes.fromhex(header["before_last_hash"]),
        last_id=header["last_id"],
        block_bits=int(header["block_bits"]),
        blocks=tuple(int(n) for n in header["blocks"]),
        nodes=nodes,
        heads={
            int(size): (str(eid), bytes.fromhex(digest))
            for size, (eid, digest) in header["heads"].items()
        },
        valid_signatures=frozenset(int(i) for i in header["valid_signatures"]),
    )


def _child_main(
    engine: Engine,
    tables: Tables,
    start: int,
    anchor_sizes: frozenset[int],
    block_bits: int,
    public_key: Ed25519PublicKey | None,
    signed: Sequence[tuple[bytes, Checkpoint]],
    out: PipeEnd,
) -> None:
    # A fresh pool in the child: the parent's pooled connections stay untouched.
    _INHERITED_POOLS.append(engine.pool)
    engine.dispose(close=False)
    try:
        result = check_range(engine, tables, start, anchor_sizes, block_bits)
        if result.ok and public_key is not None:
            valid = frozenset(
                index
                for index, (message, checkpoint) in enumerate(signed)
                if checkpoint.signature_valid(public_key, message)
            )
            result = replace(result, valid_signatures=valid)
    except Exception:  # any failure means "re-check sequentially"
        result = RangeResult(ok=False)
    finally:
        engine.dispose()
    out.send_bytes(_encode(result))
    out.send_bytes(result.nodes)
    out.close()


class RangeWorker:
    """A forked child checking ``seq >= start``; use as a context manager.

    With a ``public_key`` it also verifies the signatures of ``signed``
    (message, checkpoint) pairs and reports the valid ones by index; the parent
    checks any other signature itself.
    """

    def __init__(
        self,
        engine: Engine,
        tables: Tables,
        start: int,
        anchor_sizes: Collection[int],
        block_bits: int,
        public_key: Ed25519PublicKey | None = None,
        signed: Sequence[tuple[bytes, Checkpoint]] = (),
    ) -> None:
        context = multiprocessing.get_context("fork")
        self._reader, writer = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child_main,
            args=(
                engine,
                tables,
                start,
                frozenset(anchor_sizes),
                block_bits,
                public_key,
                tuple(signed),
                writer,
            ),
            daemon=True,
        )
        self._process.start()
        writer.close()

    def __enter__(self) -> RangeWorker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._reader.close()
        if self._process.is_alive():
            self._process.kill()
        self._process.join()

    def result(self) -> RangeResult:
        """Wait for the child; a child that died counts as "re-check sequentially"."""
        try:
            header = self._reader.recv_bytes()
            return _decode(header, self._reader.recv_bytes())
        except (EOFError, OSError, ValueError, KeyError, TypeError):
            return RangeResult(ok=False)

"""``AuditLog``: append, query, checkpoint, prove and verify one tamper-evident log."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy.engine import Connection

from bastion.audit import store, writer
from bastion.audit.checkpoints import Checkpoint, append_witness, sign_checkpoint
from bastion.audit.events import (
    FORMAT_TAG,
    GENESIS_HASH,
    SEPARATOR,
    AuditEvent,
    EventInput,
    PreparedEvent,
    event_from_row,
    prepare_many,
)
from bastion.audit.merkle import Frontier, audit_path
from bastion.audit.proofs import InclusionProof
from bastion.audit.verify import VerificationReport, verify_log
from bastion.core.errors import (
    ConfigError,
    IntegrityError,
    NotFoundError,
    SecretError,
    ValidationError,
)
from bastion.core.settings import redact_url
from bastion.core.timeutil import isoformat, parse_iso, utcnow


def checkpoint_from_row(row: Any) -> Checkpoint:
    """A :class:`Checkpoint` from a stored row."""
    return Checkpoint(
        tree_size=int(row.tree_size),
        root=bytes(row.root).hex(),
        head_hash=bytes(row.head_hash).hex(),
        head_event_id=row.head_event_id,
        time=parse_iso(row.ts),
        key_id=row.key_id,
        signature=row.signature,
    )


def _time_bound(value: datetime | None, name: str) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationError("must be timezone-aware (UTC)", field=name)
    return isoformat(value)


def _stored(
    item: PreparedEvent, seq: int, when: datetime, prev: bytes, digest: bytes
) -> AuditEvent:
    """The event ``item`` became at position ``seq`` of the chain."""
    return AuditEvent(
        seq,
        item.id,
        when,
        item.principal,
        item.action,
        item.resource,
        item.outcome,
        item.details_json,
        prev.hex(),
        digest.hex(),
    )


class AuditLog:
    """An append-only, hash-chained, checkpointed event log in SQLite or PostgreSQL.

    Every ``checkpoint_every`` events (and on :meth:`checkpoint`) a Merkle tree
    head is signed with ``signing_key`` and also appended to ``witness_path``.
    Without a signing key the log still chains events but writes no checkpoints
    (useful for auditors who only verify with the public key).
    """

    def __init__(
        self,
        url: str,
        *,
        signing_key: Ed25519PrivateKey | None,
        checkpoint_every: int = 256,
        table_prefix: str = "bastion_audit",
        witness_path: Path | None = None,
        busy_timeout_seconds: float = 10.0,
    ) -> None:
        if checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be at least 1")
        if signing_key is not None and not isinstance(signing_key, Ed25519PrivateKey):
            raise SecretError("the audit checkpoint key must be an Ed25519 private key")
        self._url = url
        self._signing_key = signing_key
        self.checkpoint_every = checkpoint_every
        self.table_prefix = table_prefix
        self.witness_path = witness_path
        self._tables = store.make_tables(table_prefix)
        self._engine = store.create_engine(url, busy_timeout_seconds=busy_timeout_seconds)
        # Appends replace a dropped connection themselves (see writer.py): no pre-ping.
        self._write_engine = (
            store.create_engine(url, busy_timeout_seconds=busy_timeout_seconds, pre_ping=False)
            if self._engine.dialect.name == "postgresql"
            else self._engine
        )
        self._appender = (
            writer.PostgresAppender(
                self._write_engine,
                table_prefix,
                checkpoint_every if signing_key is not None else 0,
            )
            if self._engine.dialect.name == "postgresql"
            else None
        )
        self._insert_sql = store.insert_sql(self._tables.events, self._engine.dialect.name)
        self._checkpoint_sql = store.insert_sql(self._tables.checkpoints, self._engine.dialect.name)
        with store.translate_errors(url):
            store.ensure_schema(self._engine, self._tables, table_prefix)

    def __repr__(self) -> str:
        return f"AuditLog({redact_url(self._url)!r}, table_prefix={self.table_prefix!r})"

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def public_key(self) -> Ed25519PublicKey | None:
        """The public half of the checkpoint key, if this log can sign."""
        return self._signing_key.public_key() if self._signing_key else None

    # Writing ---------------------------------------------------------------
    def append(
        self,
        *,
        principal: str,
        action: str,
        resource: str,
        outcome: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one event (validated; details must be JSON data, never raw sensitive values)."""
        return self.append_many([EventInput(principal, action, resource, outcome, details)])[0]

    def append_many(self, events: Sequence[EventInput]) -> list[AuditEvent]:
        """Append several events in one transaction; all or nothing."""
        if not events:
            return []
        when = utcnow()  # UTC with microseconds: exactly what its ISO text parses back to
        prepared = prepare_many(events, isoformat(when))
        stored: list[AuditEvent] = []

        def rows_for(seq: int, prev: bytes) -> list[tuple[Any, ...]] | None:
            if self._checkpoint_due(seq, seq + len(prepared)):
                return None  # the full path below signs it
            rows, chained = self._chain(prepared, seq, prev, when)
            stored[:] = chained
            return rows

        with store.translate_errors(self._url):
            # A batch of checkpoint_every or more always reaches a checkpoint: go straight
            # to the full path instead of locking twice.
            if len(prepared) < self.checkpoint_every:
                if self._appender is not None:
                    chained = self._appender.append(prepared)
                    if chained is not None:
                        return [
                            _stored(item, seq, when, prev, digest)
                            for item, (seq, prev, digest) in zip(prepared, chained, strict=True)
                        ]
                elif writer.append_rows_sqlite(self._write_engine, self._tables, rows_for):
                    return stored
            with store.write_transaction(self._engine, self.table_prefix) as conn:
                stored = self._insert(conn, prepared, when)
                checkpoints = self._due_checkpoints(conn, stored, force=False)
            if self.witness_path is not None:
                append_witness(self.witness_path, checkpoints)
        return stored

    def _checkpoint_due(self, old_size: int, new_size: int) -> bool:
        """Whether growing the log from ``old_size`` to ``new_size`` crosses a checkpoint."""
        every = self.checkpoint_every
        return self._signing_key is not None and (old_size // every + 1) * every <= new_size

    def _head(self, conn: Connection) -> tuple[int, bytes]:
        """The next sequence number and the hash to chain to, read under the write lock."""
        table = self._tables.events
        row = conn.execute(
            sa.select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
        ).first()
        if row is None:
            return 0, GENESIS_HASH
        return int(row.seq) + 1, bytes(row.hash)

    def _insert(
        self, conn: Connection, prepared: list[PreparedEvent], when: datetime
    ) -> list[AuditEvent]:
        seq, prev = self._head(conn)
        rows, stored = self._chain(prepared, seq, prev, when)
        conn.exec_driver_sql(self._insert_sql, rows)
        return stored

    @staticmethod
    def _chain(
        prepared: list[PreparedEvent], seq: int, prev: bytes, when: datetime
    ) -> tuple[list[tuple[Any, ...]], list[AuditEvent]]:
        """Rows to insert and the events they are, chained onto ``prev`` from ``seq`` on."""
        rows: list[tuple[Any, ...]] = []
        stored: list[AuditEvent] = []
        sep, tag = SEPARATOR, FORMAT_TAG
        for item in prepared:
            # event_hash(), inlined: this loop is the batched append throughput.
            text = sep.join((tag, *item))  # PreparedEvent's fields, in hashed order
            digest = sha256(b"\x00" + text.encode() + prev).digest()
            rows.append((seq, *item, prev, digest))
            stored.append(_stored(item, seq, when, prev, digest))
            prev = digest
            seq += 1
        return rows, stored

    def _due_checkpoints(
        self, conn: Connection, new: list[AuditEvent], *, force: bool
    ) -> list[Checkpoint]:
        """Sign the checkpoints whose sizes ``new`` reached (inside the write transaction)."""
        if self._signing_key is None:
            return []
        if new:
            old_size, end = new[0].seq, new[-1].seq + 1
        else:
            old_size = end = self._head(conn)[0]
        every = self.checkpoint_every
        due = list(range((old_size // every + 1) * every, end + 1, every))
        if force and end > 0 and (not due or due[-1] != end):
            due.append(end)
        if not due:
            return []
        frontier = self._frontier_before(conn, old_size)
        if frontier.size < old_size:
            frontier.extend(self._leaf_hashes(conn, frontier.size, old_size))
        by_seq = {event.seq: event for event in new}
        checkpoints: list[Checkpoint] = []
        now = utcnow()
        for size in due:
            frontier.extend(bytes.fromhex(by_seq[seq].hash) for seq in range(frontier.size, size))
            head_id, head_hash = self._event_at(conn, size - 1, by_seq)
            checkpoint = sign_checkpoint(
                self._signing_key, size, frontier.root(), head_hash, head_id, now
            )
            conn.exec_driver_sql(
                self._checkpoint_sql,
                (
                    size,
                    bytes.fromhex(checkpoint.root),
                    head_hash,
                    head_id,
                    isoformat(checkpoint.time),
                    checkpoint.key_id,
                    checkpoint.signature,
                    frontier.to_bytes(),
                ),
            )
            checkpoints.append(checkpoint)
        return checkpoints

    def _event_at(
        self, conn: Connection, seq: int, by_seq: Mapping[int, AuditEvent]
    ) -> tuple[str, bytes]:
        """Id and hash of the event at ``seq``, from this batch or the table."""
        if seq in by_seq:
            return by_seq[seq].id, bytes.fromhex(by_seq[seq].hash)
        table = self._tables.events
        row = conn.execute(
            sa.select(table.c.event_id, table.c.hash).where(table.c.seq == seq)
        ).one()
        return str(row.event_id), bytes(row.hash)

    def _frontier_before(self, conn: Connection, size: int) -> Frontier:
        """The stored frontier of the newest checkpoint, refusing a log shorter than it."""
        table = self._tables.checkpoints
        row = conn.execute(
            sa.select(table.c.tree_size, table.c.root, table.c.frontier)
            .order_by(table.c.tree_size.desc())
            .limit(1)
        ).first()
        if row is None:
            return Frontier()
        latest = int(row.tree_size)
        if latest > size:
            raise IntegrityError(
                f"audit log has {size} events but a checkpoint covers {latest}: it was "
                "truncated; run 'bastion audit verify'"
            )
        try:
            frontier = Frontier.from_bytes(latest, bytes(row.frontier))
        except ValueError:
            return Frontier()
        # A damaged frontier would only produce checkpoints that fail verification;
        # recomputing from the leaves is cheap insurance.
        return frontier if frontier.root() == bytes(row.root) else Frontier()

    def _leaf_hashes(self, conn: Connection, start: int, end: int) -> list[bytes]:
        """Stored hashes of the events ``start <= seq < end``, in order.

        Through the DB-API cursor of ``conn`` (same transaction): every checkpoint
        reads the hashes appended since the previous one, and a proof reads them
        all, so SQLAlchemy's per-row objects would cost more than the query.
        """
        mark = "?" if self._engine.dialect.name == "sqlite" else "%s"
        cursor = conn.connection.cursor()
        try:
            cursor.execute(
                f"SELECT hash FROM {self._tables.events.name} "  # noqa: S608 - validated name
                f"WHERE seq >= {mark} AND seq < {mark} ORDER BY seq",
                (start, end),
            )
            return [bytes(digest) for (digest,) in cursor.fetchall()]
        finally:
            cursor.close()

    def checkpoint(self) -> Checkpoint:
        """Sign a checkpoint over every event so far (returns the existing one if current)."""
        if self._signing_key is None:
            raise SecretError("this audit log was opened without its checkpoint signing key")
        with store.translate_errors(self._url):
            with store.write_transaction(self._engine, self.table_prefix) as conn:
                size, _ = self._head(conn)
                if size == 0:
                    raise NotFoundError("the audit log is empty; there is nothing to checkpoint")
                existing = self._checkpoint_at(conn, size)
                if existing is not None:
                    return existing
                created = self._due_checkpoints(conn, [], force=True)
            if self.witness_path is not None:
                append_witness(self.witness_path, created)
        return created[-1]

    def _checkpoint_at(self, conn: Connection, size: int) -> Checkpoint | None:
        table = self._tables.checkpoints
        row = conn.execute(table.select().where(table.c.tree_size == size)).first()
        return checkpoint_from_row(row) if row is not None else None

    # Reading ---------------------------------------------------------------
    def get(self, event_id: str) -> AuditEvent:
        """The event with this id; ``NotFoundError`` if there is none."""
        table = self._tables.events
        with store.translate_errors(self._url), self._engine.connect() as conn:
            row = conn.execute(table.select().where(table.c.event_id == event_id)).first()
        if row is None:
            raise NotFoundError(f"no audit event with id {event_id!r}")
        return event_from_row(row)

    def _filtered(
        self,
        principal: str | None,
        action: str | None,
        outcome: str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> sa.Select[Any]:
        table = self._tables.events
        query = table.select()
        if principal is not None:
            query = query.where(table.c.principal == principal)
        if action is not None:
            query = query.where(table.c.action == action)
        if outcome is not None:
            query = query.where(table.c.outcome == outcome)
        since_text = _time_bound(since, "since")
        until_text = _time_bound(until, "until")
        if since_text is not None:
            query = query.where(table.c.ts >= since_text)
        if until_text is not None:
            query = query.where(table.c.ts <= until_text)
        return query

    def query(
        self,
        principal: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Matching events in log order; with ``limit``, the most recent ``limit`` of them."""
        if limit is not None and limit < 1:
            raise ValidationError("must be at least 1", field="limit")
        table = self._tables.events
        statement = self._filtered(principal, action, outcome, since, until)
        if limit is not None:
            statement = statement.order_by(table.c.seq.desc()).limit(limit)
        else:
            statement = statement.order_by(table.c.seq)
        with store.translate_errors(self._url), self._engine.connect() as conn:
            events = [event_from_row(row) for row in conn.execute(statement)]
        if limit is not None:
            events.reverse()
        return events

    def checkpoints(self) -> list[Checkpoint]:
        """All stored checkpoints, smallest first."""
        table = self._tables.checkpoints
        with store.translate_errors(self._url), self._engine.connect() as conn:
            rows = conn.execute(table.select().order_by(table.c.tree_size)).fetchall()
        return [checkpoint_from_row(row) for row in rows]

    def export_jsonl(
        self,
        stream: TextIO,
        *,
        principal: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_checkpoints: bool = True,
    ) -> int:
        """Write matching events (``"type": "event"``) then checkpoints as JSON lines.

        Returns the number of events written.  Each line is self-contained so an
        auditor can recompute hashes and check checkpoint signatures offline.
        """
        table = self._tables.events
        statement = self._filtered(principal, action, outcome, since, until).order_by(table.c.seq)
        count = 0
        with store.translate_errors(self._url), self._engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(statement)
            for row in result:
                line = {"type": "event", **event_from_row(row).to_dict()}
                stream.write(json.dumps(line, sort_keys=True) + "\n")
                count += 1
        if include_checkpoints:
            for checkpoint in self.checkpoints():
                stream.write(
                    json.dumps({"type": "checkpoint", **checkpoint.to_dict()}, sort_keys=True)
                    + "\n"
                )
        return count

    # Proof and verification ------------------------------------------------
    def prove(self, event_id: str) -> InclusionProof:
        """An inclusion proof of the event in the newest checkpoint (made on demand if needed)."""
        event = self.get(event_id)
        latest = self.latest_checkpoint()
        if latest is None or latest.tree_size <= event.seq:
            if self._signing_key is None:
                raise NotFoundError(
                    f"event {event_id} is not covered by a checkpoint yet and this log "
                    "cannot sign one (no checkpoint key)"
                )
            latest = self.checkpoint()
        with store.translate_errors(self._url), self._engine.connect() as conn:
            leaves = self._leaf_hashes(conn, 0, latest.tree_size)
        if len(leaves) != latest.tree_size:
            raise IntegrityError(
                f"checkpoint covers {latest.tree_size} events but only {len(leaves)} exist; "
                "run 'bastion audit verify'"
            )
        return InclusionProof(
            event_id=event.id,
            leaf_index=event.seq,
            tree_size=latest.tree_size,
            leaf_hash=event.leaf_hash().hex(),
            audit_path=tuple(node.hex() for node in audit_path(event.seq, leaves)),
        )

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest stored checkpoint, if any."""
        table = self._tables.checkpoints
        with store.translate_errors(self._url), self._engine.connect() as conn:
            row = conn.execute(table.select().order_by(table.c.tree_size.desc()).limit(1)).first()
        return checkpoint_from_row(row) if row is not None else None

    def checkpoint_at(self, tree_size: int) -> Checkpoint:
        """The stored checkpoint of exactly ``tree_size`` events."""
        with store.translate_errors(self._url), self._engine.connect() as conn:
            found = self._checkpoint_at(conn, tree_size)
        if found is None:
            raise NotFoundError(f"no checkpoint at tree size {tree_size}")
        return found

    def verify(
        self, public_key: Ed25519PublicKey | None = None, *, parallel: bool | None = None
    ) -> VerificationReport:
        """Recompute the whole chain and every checkpoint; report the first bad event.

        ``public_key`` defaults to the signing key's; without either, checkpoint
        roots are still compared but signatures are not checked (the report says so).
        ``parallel`` (default: by size) checks the tail of a large log in a second
        process; the report is identical either way.
        """
        key = public_key or self.public_key
        with store.translate_errors(self._url):
            return verify_log(self._engine, self._tables, key, self.witness_path, parallel=parallel)

    def close(self) -> None:
        """Release database connections."""
        if self._appender is not None:
            self._appender.close()
        self._engine.dispose()
        self._write_engine.dispose()

    def drop_tables(self) -> None:
        """Delete this log's tables (tests and benchmarks only; the log is gone afterwards)."""
        with store.translate_errors(self._url), self._engine.begin() as conn:
            self._tables.metadata.drop_all(conn)
            if self._engine.dialect.name == "postgresql":
                name = store.append_function_name(self.table_prefix)
                for suffix in store.LEGACY_FUNCTION_SUFFIXES:
                    conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}{suffix}")
                row = store.append_row_function_name(self.table_prefix)
                conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {row}")
                conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}")

"""Appends with as few round trips as the chain allows.

An append must read the chain head *after* taking the write lock and write the
new rows in the same transaction.  Through SQLAlchemy that was six round trips
on PostgreSQL (pool pre-ping, BEGIN, lock, head, INSERT, COMMIT); here:

* PostgreSQL: one statement, ``SELECT ... FROM {prefix}_append_v1(...)``, a
  PL/pgSQL function created with the tables (see
  :func:`bastion.audit.store.append_function_ddl`) that takes the advisory
  lock, reads the head in a *separate statement* (so, under READ COMMITTED, with
  a snapshot taken after the lock: it sees the previous writer's commit),
  hashes and inserts.  Parameters are bound server-side (no client quoting) and
  the statement commits on its own.  An earlier version sent two messages
  (lock + head, then INSERT + COMMIT with client-side binding) and cost about
  twice a plain insert in client CPU.
* SQLite: ``BEGIN IMMEDIATE`` (the write lock), head, executemany, ``COMMIT`` on
  the raw ``sqlite3`` connection (no SQLAlchemy per-statement overhead).

Either way, when a checkpoint would be due nothing is written and the caller
takes the full path, which signs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from sqlalchemy.engine import Engine

from bastion.audit.events import GENESIS_HASH, PreparedEvent
from bastion.audit.store import Tables, append_function_name, insert_sql, lock_key
from bastion.core.errors import IntegrityError

_READ_COMMITTED = "bastion_audit_read_committed"

RowsFor = Callable[[int, bytes], Sequence[tuple[Any, ...]] | None]


def append_rows_sqlite(engine: Engine, tables: Tables, build: RowsFor) -> bool:
    """Lock (``BEGIN IMMEDIATE``), read the head, insert ``build``'s rows and commit;
    False if ``build`` declined."""
    head_sql = f"SELECT seq, hash FROM {tables.events.name} ORDER BY seq DESC LIMIT 1"  # noqa: S608 - validated
    insert = insert_sql(tables.events, engine.dialect.name)
    raw = engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            rows = build(*_head(connection.execute(head_sql).fetchone()))
            if rows is None:
                connection.execute("ROLLBACK")
                return False
            connection.executemany(insert, rows)
            connection.execute("COMMIT")
            return True
        except BaseException:
            if connection.in_transaction:
                with suppress(Exception):
                    connection.execute("ROLLBACK")
            raise
    finally:
        raw.close()


def _head(row: Sequence[Any] | None) -> tuple[int, bytes]:
    if row is None:
        return 0, GENESIS_HASH
    return int(row[0]) + 1, bytes(row[1])


def append_postgres(
    engine: Engine, prefix: str, every: int, events: Sequence[PreparedEvent]
) -> list[tuple[int, bytes, bytes]] | None:
    """Append through the log's PostgreSQL function (one statement, one round trip).

    Returns ``(seq, prev_hash, hash)`` per event, or None when a checkpoint is due
    (nothing was written).  ``every`` is 0 for a log without checkpoints.
    """
    import psycopg

    # Binary parameters (%b) and results: the text format escapes every array
    # element with a regular expression in Python, a third of the client's CPU.
    name = append_function_name(prefix)
    if len(events) == 1:
        call = (
            f"SELECT out_seq, out_prev, out_hash FROM {name}_one("  # noqa: S608 - validated
            "%b::bigint, %b::bigint, %b, %b, %b, %b, %b, %b, %b)"
        )
        # PreparedEvent's fields are the function's arguments, in order.
        params: tuple[Any, ...] = (lock_key(prefix), every, *events[0])
    else:
        call = (
            f"SELECT out_seq, out_prev, out_hash FROM {name}("  # noqa: S608 - validated
            "%b::bigint, %b::bigint, %b::text[], %b::text, %b::text[], %b::text[], "
            "%b::text[], %b::text[], %b::text[])"
        )
        params = (
            lock_key(prefix),
            every,
            [item.id for item in events],
            events[0].time_text,
            [item.principal for item in events],
            [item.action for item in events],
            [item.resource for item in events],
            [item.outcome for item in events],
            [item.details_json for item in events],
        )
    for attempt in (1, 2):
        raw = engine.raw_connection()
        connection: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        # A single statement is its own transaction; the function's advisory lock
        # is held until that transaction commits.
        connection.autocommit = True
        try:
            try:
                if not raw.info.get(_READ_COMMITTED):
                    connection.execute(
                        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED"
                    )
                    raw.info[_READ_COMMITTED] = True
                rows = connection.execute(call, params, binary=True).fetchall()
            except psycopg.OperationalError:
                # The write engine skips the pool's pre-ping (a round trip per append):
                # a connection the server dropped fails here, before anything was
                # written, and is replaced once.
                if attempt == 1 and connection.broken:
                    raw.invalidate()
                    continue
                raise
            if not rows:
                return None
            if len(rows) != len(events):
                raise IntegrityError(f"audit append wrote {len(rows)} of {len(events)} events")
            return [(int(seq), bytes(prev), bytes(digest)) for seq, prev, digest in rows]
        finally:
            if not connection.broken:
                with suppress(Exception):
                    connection.autocommit = False
            raw.close()
    raise AssertionError("unreachable: the second attempt returns or raises")

"""Appends at the driver level, with as few round trips as the chain allows.

An append must read the chain head *after* taking the write lock and write the
new rows in the same transaction.  Through SQLAlchemy that was six round trips
on PostgreSQL (pool pre-ping, BEGIN, lock, head, INSERT, COMMIT); here it is two:

* PostgreSQL: ``BEGIN ISOLATION LEVEL READ COMMITTED; SELECT
  pg_advisory_xact_lock(k); SELECT head`` as one simple-protocol message, then
  ``INSERT ... VALUES (...), (...); COMMIT`` as another (parameters bound
  client-side by psycopg's ``ClientCursor``, which quotes them).  The lock and the
  head read stay *separate statements*: a statement's snapshot is taken when it
  starts, so a head read in the same statement as the lock (a CTE or LATERAL
  join) could miss the previous writer's commit; as separate statements in one
  message the server runs them in order and gives the head read a fresh
  snapshot (READ COMMITTED, stated explicitly) once the lock is held.  psycopg's
  pipeline mode did the same in one round trip each but cost ~0.3 ms more per
  append in client overhead.
* SQLite: ``BEGIN IMMEDIATE`` (the write lock), head, executemany, ``COMMIT`` on
  the raw ``sqlite3`` connection (no SQLAlchemy per-statement overhead).

``build(next_seq, prev_hash)`` turns the head into rows, or returns None when
the append needs the full path (a checkpoint is due): the transaction is then
rolled back and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from sqlalchemy.engine import Engine

from bastion.audit.events import GENESIS_HASH
from bastion.audit.store import Tables, insert_sql, lock_key

RowsFor = Callable[[int, bytes], Sequence[tuple[Any, ...]] | None]


def append_rows(engine: Engine, tables: Tables, prefix: str, build: RowsFor) -> bool:
    """Lock, read the head, insert ``build``'s rows and commit; False if ``build`` declined."""
    head_sql = f"SELECT seq, hash FROM {tables.events.name} ORDER BY seq DESC LIMIT 1"  # noqa: S608 - validated
    insert = insert_sql(tables.events, engine.dialect.name)
    if engine.dialect.name == "sqlite":
        return _sqlite(engine, head_sql, insert, build)
    return _postgres(engine, lock_key(prefix), head_sql, insert, build)


def _head(row: Sequence[Any] | None) -> tuple[int, bytes]:
    if row is None:
        return 0, GENESIS_HASH
    return int(row[0]) + 1, bytes(row[1])


def _sqlite(engine: Engine, head_sql: str, insert: str, build: RowsFor) -> bool:
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


def _postgres(engine: Engine, key: int, head_sql: str, insert: str, build: RowsFor) -> bool:
    import psycopg
    from psycopg.pq import TransactionStatus

    start = (
        "BEGIN ISOLATION LEVEL READ COMMITTED; "
        f"SELECT pg_advisory_xact_lock({int(key)}); {head_sql}"
    )
    for attempt in (1, 2):
        raw = engine.raw_connection()
        connection: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        # We send BEGIN and COMMIT inside our own messages, so psycopg must not add its own.
        connection.autocommit = True
        try:
            cursor = psycopg.ClientCursor(connection)
            try:
                cursor.execute(start)
            except psycopg.OperationalError:
                # The write engine skips the pool's pre-ping (a round trip per append):
                # a connection the server dropped fails here, before anything was
                # written, and is replaced once.
                if attempt == 1 and connection.broken:
                    raw.invalidate()
                    continue
                raise
            while cursor.nextset():
                pass
            rows = build(*_head(cursor.fetchone()))
            if rows is None:
                cursor.execute("ROLLBACK")
                return False
            # One message: the INSERT (parameters bound client-side by psycopg) and COMMIT.
            values = insert.rsplit(" VALUES ", 1)[1]
            statement = insert + f", {values}" * (len(rows) - 1) + "; COMMIT"
            cursor.execute(statement, [value for row in rows for value in row])
            return True
        finally:
            if not connection.broken:
                if connection.info.transaction_status != TransactionStatus.IDLE:
                    with suppress(Exception):
                        connection.execute("ROLLBACK")
                with suppress(Exception):
                    connection.autocommit = False
            raw.close()
    raise AssertionError("unreachable: the second attempt returns or raises")

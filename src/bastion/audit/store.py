"""Tables, engines and the write lock for SQLite and PostgreSQL.

Appends are serialised so that every writer reads the chain head inside the
transaction that extends it: SQLite takes the write lock up front with
``BEGIN IMMEDIATE``; PostgreSQL takes a transaction-scoped advisory lock keyed
by the table prefix.  Database failures become one-line
``ServiceUnavailableError`` messages with the password redacted.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, NoSuchModuleError, SQLAlchemyError

from bastion.audit.events import FORMAT_TAG, GENESIS_HASH, SEPARATOR
from bastion.core.errors import ConfigError, ServiceUnavailableError
from bastion.core.settings import redact_url
from bastion.core.sql import parse_store_url

_PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
_IMMEDIATE = "bastion_audit_immediate"


@dataclass(frozen=True)
class Tables:
    """The two tables of one audit log."""

    metadata: sa.MetaData
    events: sa.Table
    checkpoints: sa.Table


def make_tables(prefix: str) -> Tables:
    """Table definitions under ``prefix`` (validated: it becomes part of SQL identifiers)."""
    if not _PREFIX.match(prefix):
        raise ConfigError(
            f"audit table prefix {prefix!r} must be 1-41 lowercase letters, digits or _"
        )
    seq_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    metadata = sa.MetaData()
    events = sa.Table(
        f"{prefix}_events",
        metadata,
        sa.Column("seq", seq_type, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("ts", sa.String(32), nullable=False, index=True),
        sa.Column("principal", sa.String(256), nullable=False, index=True),
        sa.Column("action", sa.String(128), nullable=False, index=True),
        sa.Column("resource", sa.String(1024), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    checkpoints = sa.Table(
        f"{prefix}_checkpoints",
        metadata,
        sa.Column("tree_size", seq_type, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("head_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("head_event_id", sa.String(36), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
    )
    return Tables(metadata, events, checkpoints)


def insert_sql(table: sa.Table, dialect: str) -> str:
    """Driver-level INSERT of one full row (positional), for fast executemany."""
    mark = "?" if dialect == "sqlite" else "%s"
    columns = ", ".join(column.name for column in table.columns)
    marks = ", ".join(mark for _ in table.columns)
    return f"INSERT INTO {table.name} ({columns}) VALUES ({marks})"  # noqa: S608 - validated names


def lock_key(prefix: str) -> int:
    """A stable signed 64-bit advisory-lock key for one log."""
    digest = hashlib.sha256(f"bastion.audit:{prefix}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def describe_db_error(url: str, exc: BaseException) -> str:
    """The first line of a driver error, without secrets or SQL."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    first = text[0] if text else type(original).__name__
    return f"audit database {redact_url(url)} unavailable: {first}"


def create_engine(url: str, *, busy_timeout_seconds: float, pre_ping: bool = True) -> Engine:
    """An engine for the audit store with the right dialect settings.

    ``pre_ping=False`` is for the append path, which replaces a dropped
    PostgreSQL connection itself instead of paying a round trip per checkout.
    """
    parsed = parse_store_url(url, what="audit")
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = sa.create_engine(
                parsed,
                connect_args={"timeout": busy_timeout_seconds, "isolation_level": None},
            )
            _configure_sqlite(engine, busy_timeout_seconds)
            return engine
        if backend == "postgresql":
            return sa.create_engine(
                parsed,
                pool_pre_ping=pre_ping,
                connect_args={"connect_timeout": max(1, round(busy_timeout_seconds))},
            )
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(
            f"no driver for audit URL {redact_url(url)!r} ({exc}); install bastion[postgres]"
        ) from None
    raise ConfigError(f"audit URL {redact_url(url)!r}: only sqlite and postgresql are supported")


def _configure_sqlite(engine: Engine, busy_timeout_seconds: float) -> None:
    """WAL, a busy timeout, and explicit BEGIN (IMMEDIATE for writers)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@functools.cache
def _driver_errors() -> tuple[type[Exception], ...]:
    """DB-API error bases of the drivers we use directly (raw cursors bypass SQLAlchemy)."""
    errors: list[type[Exception]] = [sqlite3.Error]
    try:
        import psycopg
    except ImportError:
        pass
    else:
        errors.append(psycopg.Error)
    return tuple(errors)


@contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Turn driver failures into ``ServiceUnavailableError`` (one line, exit 2)."""
    try:
        yield
    except DBAPIError as exc:
        raise ServiceUnavailableError(describe_db_error(url, exc)) from None
    except SQLAlchemyError as exc:
        raise ServiceUnavailableError(describe_db_error(url, exc)) from None
    except _driver_errors() as exc:
        raise ServiceUnavailableError(describe_db_error(url, exc)) from None


@contextmanager
def write_transaction(engine: Engine, prefix: str) -> Iterator[Connection]:
    """A transaction holding the log's write lock for its whole duration."""
    with engine.connect() as raw:
        conn = raw.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key(prefix))))
            yield conn


def ensure_schema(engine: Engine, tables: Tables, prefix: str) -> None:
    """Create the tables (and on PostgreSQL the append function) under the write lock,
    so that concurrent first runs agree."""
    with write_transaction(engine, prefix) as conn:
        tables.metadata.create_all(conn, checkfirst=True)
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(append_function_ddl(tables, prefix))


def append_function_name(prefix: str) -> str:
    """The PostgreSQL function that appends to the log ``prefix`` (versioned by name)."""
    return f"{prefix}_append_v1"


def append_row_function_name(prefix: str) -> str:
    """The single-event variant of :func:`append_function_name` (no arrays, no row set)."""
    return f"{prefix}_append_v1_row"


# Functions earlier versions created; dropped with the tables.
LEGACY_FUNCTION_SUFFIXES = ("_one",)


def _hash_sql(fields: tuple[str, ...], prev: str) -> str:
    """SQL for :func:`bastion.audit.events.event_hash` of ``fields`` (SQL expressions)."""
    sep = f" || chr({ord(SEPARATOR)}) || "
    return (
        f"sha256('\\x00'::bytea || convert_to('{FORMAT_TAG}'{sep}"
        f"{sep.join(fields)}, 'UTF8') || {prev})"
    )


_HEAD_PREAMBLE = """
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING MESSAGE = 'audit append needs READ COMMITTED, not '
            || current_setting('transaction_isolation');
    END IF;
    PERFORM pg_advisory_xact_lock(p_lock);"""


def append_function_ddl(tables: Tables, prefix: str) -> str:
    """``{prefix}_append_v1`` (a batch) and ``{prefix}_append_v1_row`` (one event):
    lock, read the head, chain and insert, in one call.

    One statement per append instead of two messages with client-side binding:
    the server hashes exactly what :func:`bastion.audit.events.event_hash` hashes
    (SHA-256 of ``\\x00``, the format tag and the fields joined by the separator,
    then the previous hash).  Both refuse to run outside READ COMMITTED: the head
    read must get a fresh snapshot after the lock, which is what makes concurrent
    writers chain correctly.  When a checkpoint would be due they write nothing
    (the batch function returns no rows, the row function a row of NULLs); the
    caller then takes the path that signs it.  The row function exists because a
    scalar PL/pgSQL call costs the server backend about a fifth less CPU than the
    batch function behind an array-building SQL wrapper (backend CPU time per call,
    prepared statements on one connection).
    """
    name = append_function_name(prefix)
    events = tables.events.name
    zero = "00" * len(GENESIS_HASH)
    batch_hash = _hash_sql(
        (
            "p_ids[i]",
            "p_ts",
            "p_principals[i]",
            "p_actions[i]",
            "p_resources[i]",
            "p_outcomes[i]",
            "p_details[i]",
        ),
        "head",
    )
    row_hash = _hash_sql(
        ("p_id", "p_ts", "p_principal", "p_action", "p_resource", "p_outcome", "p_details"),
        "out_prev",
    )
    return f"""
CREATE OR REPLACE FUNCTION {name}(
    p_lock bigint, p_every bigint, p_ids text[], p_ts text, p_principals text[],
    p_actions text[], p_resources text[], p_outcomes text[], p_details text[]
) RETURNS TABLE (out_seq bigint, out_prev bytea, out_hash bytea)
LANGUAGE plpgsql VOLATILE AS $bastion$
DECLARE
    head_seq bigint;
    head bytea;
    digest bytea;
    n integer := cardinality(p_ids);
BEGIN{_HEAD_PREAMBLE}
    SELECT e.seq, e.hash INTO head_seq, head FROM {events} e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        head_seq := -1;
        head := '\\x{zero}'::bytea;
    END IF;
    IF p_every > 0 AND ((head_seq + 1) / p_every + 1) * p_every <= head_seq + 1 + n THEN
        RETURN;
    END IF;
    FOR i IN 1 .. n LOOP
        digest := {batch_hash};
        INSERT INTO {events}
            (seq, event_id, ts, principal, action, resource, outcome, details, prev_hash, hash)
            VALUES (head_seq + i, p_ids[i], p_ts, p_principals[i], p_actions[i],
                    p_resources[i], p_outcomes[i], p_details[i], head, digest);
        out_seq := head_seq + i;
        out_prev := head;
        out_hash := digest;
        RETURN NEXT;
        head := digest;
    END LOOP;
END
$bastion$;
CREATE OR REPLACE FUNCTION {append_row_function_name(prefix)}(
    p_lock bigint, p_every bigint, p_id text, p_ts text, p_principal text,
    p_action text, p_resource text, p_outcome text, p_details text,
    OUT out_seq bigint, OUT out_prev bytea, OUT out_hash bytea
) LANGUAGE plpgsql VOLATILE AS $bastion$
BEGIN{_HEAD_PREAMBLE}
    SELECT e.seq + 1, e.hash INTO out_seq, out_prev FROM {events} e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        out_seq := 0;
        out_prev := '\\x{zero}'::bytea;
    END IF;
    IF p_every > 0 AND (out_seq / p_every + 1) * p_every <= out_seq + 1 THEN
        out_seq := NULL;
        out_prev := NULL;
        RETURN;
    END IF;
    out_hash := {row_hash};
    INSERT INTO {events}
        (seq, event_id, ts, principal, action, resource, outcome, details, prev_hash, hash)
        VALUES (out_seq, p_id, p_ts, p_principal, p_action, p_resource, p_outcome, p_details,
                out_prev, out_hash);
END
$bastion$"""  # noqa: S608 - identifiers validated by make_tables

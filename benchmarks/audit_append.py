"""Audit log: chained appends vs plain un-chained inserts of the same rows, and verification.

For each store (SQLite file, PostgreSQL) and each repeat, in one run:

* plain one-by-one   - INSERT of a prepared row (id, time, fields, JSON) and COMMIT, one
                       transaction each, on the raw driver connection as the driver does it
                       by default (psycopg: BEGIN, INSERT, COMMIT; SQLite: the same)
* plain one-by-one, autocommit - PostgreSQL only: an autocommit INSERT (one message, one
                       round trip, like the chained append's one function call)
* plain one-by-one, autocommit, held connection - PostgreSQL only: the floor, the same
                       INSERT prepared on one connection kept for the whole run (no pool
                       check-out), as the chained side's appender does
* chained one-by-one - ``AuditLog.append`` (validate, lock, read head, hash-chain, insert,
                       commit; a signed checkpoint every 256 events with a fsynced witness line);
                       the one-by-one sides alternate in blocks of 50 events
* plain batched      - the same with ``--batch`` rows per transaction (PostgreSQL: psycopg's
                       pipelined executemany, then COMMIT)
* chained batched    - ``AuditLog.append_many`` with ``--batch`` events per call (alternating
                       batch by batch with the plain side)
* verify             - ``AuditLog.verify`` over the whole chained log (hashes, Merkle roots,
                       signatures of database checkpoints and witness entries); large logs
                       are checked by two processes
* verify, 1 process  - the same with ``parallel=False``
* read rows          - the same rows fetched with one SELECT through the DB-API cursor and no
                       checks (one process: the single-process floor for verify)

Both sides build their rows inside the timed region (a fresh UUID, the UTC time, canonical
JSON details - what any audit logger must do) and use the same driver, pool and engine
settings (SQLite: WAL, synchronous=FULL, so every commit is durable; PostgreSQL: psycopg 3).
Prints medians over ``--repeats`` and the
chained/plain cost ratio.

    .venv/bin/python benchmarks/audit_append.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bastion.audit import AuditLog, EventInput
from bastion.audit.events import canonical_json
from bastion.audit.store import create_engine
from bastion.core.crypto import generate_ed25519_private_pem, load_ed25519_private
from bastion.core.timeutil import isoformat, utcnow

DEFAULT_PG = "postgresql+psycopg://root@127.0.0.1:5432/test"
INTERLEAVE = 50  # one-by-one events per alternating block


def sample_inputs(count: int) -> list[EventInput]:
    return [
        EventInput(
            principal=f"analyst-{index % 7}@example.org",
            action="dataset:read" if index % 3 else "model:train",
            resource=f"dataset:clinical/notes-{index % 50}",
            outcome="allow" if index % 5 else "deny",
            details={
                "rule": "p, analyst, dataset:clinical/*, read",
                "columns": 12,
                "digest": uuid.UUID(int=index).hex * 2,
            },
        )
        for index in range(count)
    ]


def plain_table(prefix: str) -> tuple[sa.MetaData, sa.Table]:
    metadata = sa.MetaData()
    table = sa.Table(
        f"{prefix}_plain",
        metadata,
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("ts", sa.String(32), nullable=False, index=True),
        sa.Column("principal", sa.String(256), nullable=False, index=True),
        sa.Column("action", sa.String(128), nullable=False, index=True),
        sa.Column("resource", sa.String(1024), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
    )
    return metadata, table


def plain_rows(inputs: list[EventInput]) -> list[tuple[Any, ...]]:
    now = isoformat(utcnow())
    return [
        (
            str(uuid.uuid4()),
            now,
            item.principal,
            item.action,
            item.resource,
            item.outcome,
            canonical_json(item.details),
        )
        for item in inputs
    ]


def rate(count: int, work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return count / (time.perf_counter() - start)


def one_repeat(url: str, prefix: str, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    key = load_ed25519_private(generate_ed25519_private_pem())
    singles = sample_inputs(args.single)
    batched = sample_inputs(args.events)
    batches = [batched[i : i + args.batch] for i in range(0, len(batched), args.batch)]
    results: dict[str, float] = {}

    # The same driver and pool settings as the audit log's append path (no pre-ping).
    engine = create_engine(url, busy_timeout_seconds=10, pre_ping=False)
    metadata, table = plain_table(prefix)
    metadata.create_all(engine)
    postgres = engine.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    insert = (
        f"INSERT INTO {table.name} (event_id, ts, principal, action, resource, outcome, details) "
        f"VALUES ({', '.join([mark] * 7)})"
    )
    log = AuditLog(
        url,
        signing_key=key,
        table_prefix=prefix,
        witness_path=workdir / f"{prefix}-witness.jsonl",
    )
    try:

        def plain_insert(rows: list[tuple[Any, ...]], *, autocommit: bool = False) -> None:
            """One transaction: INSERT the rows and COMMIT, on the raw driver connection."""
            raw = engine.raw_connection()
            try:
                connection: Any = raw.driver_connection
                if postgres and autocommit:  # the floor: one message, one round trip
                    connection.autocommit = True
                    connection.execute(insert, rows[0])
                    connection.autocommit = False
                elif postgres and len(rows) == 1:  # psycopg's default: BEGIN, INSERT, COMMIT
                    connection.execute(insert, rows[0])
                    connection.commit()
                elif postgres:  # psycopg's batch path (pipelined executemany), then COMMIT
                    with connection.pipeline():
                        connection.cursor().executemany(insert, rows)
                        connection.commit()
                else:
                    connection.execute("BEGIN")
                    connection.executemany(insert, rows)
                    connection.execute("COMMIT")
            finally:
                raw.close()

        def plain_single(items: list[EventInput]) -> None:
            for item in items:
                plain_insert(plain_rows([item]))

        def plain_single_autocommit(items: list[EventInput]) -> None:
            for item in items:
                plain_insert(plain_rows([item]), autocommit=True)

        held: list[Any] = []  # the floor's connection, checked out once

        def plain_single_held(items: list[EventInput]) -> None:
            if not held:
                raw = engine.raw_connection()
                raw.driver_connection.autocommit = True  # type: ignore[union-attr]
                held[:] = [raw, raw.driver_connection.cursor()]  # type: ignore[union-attr]
            cursor = held[1]
            for item in items:
                cursor.execute(insert, plain_rows([item])[0], prepare=True)

        def chained_single(items: list[EventInput]) -> None:
            for item in items:
                log.append(
                    principal=item.principal,
                    action=item.action,
                    resource=item.resource,
                    outcome=item.outcome,
                    details=item.details,
                )

        def plain_batch(batch: list[EventInput]) -> None:
            plain_insert(plain_rows(batch))

        # The shared machine's load drifts: the sides alternate (blocks of one-by-one
        # events, single batches) so that all of them see the same background load.
        sides: dict[str, Callable[[list[EventInput]], None]] = {
            "plain one-by-one": plain_single,
            "chained one-by-one": chained_single,
        }
        if postgres:
            sides["plain one-by-one, autocommit"] = plain_single_autocommit
            sides["plain one-by-one, autocommit, held connection"] = plain_single_held
        spent = dict.fromkeys(sides, 0.0)
        for start in range(0, len(singles), INTERLEAVE):
            block = singles[start : start + INTERLEAVE]
            for side, work in sides.items():
                began = time.perf_counter()
                work(block)
                spent[side] += time.perf_counter() - began
        for side, seconds in spent.items():
            results[side] = len(singles) / seconds
        if held:
            held[0].driver_connection.autocommit = False
            held[0].close()
        batch_sides: dict[str, Callable[[list[EventInput]], object]] = {
            "plain batched": plain_batch,
            "chained batched": log.append_many,
        }
        spent = dict.fromkeys(batch_sides, 0.0)
        for batch in batches:
            for side, work in batch_sides.items():
                began = time.perf_counter()
                work(batch)
                spent[side] += time.perf_counter() - began
        for side, seconds in spent.items():
            results[side] = len(batched) / seconds
        report = log.verify()
        assert report.ok, report.summary()
        results["verify"] = rate(report.events_checked, log.verify)
        results["verify, 1 process"] = rate(
            report.events_checked, lambda: log.verify(parallel=False)
        )
        select_all = (
            f"SELECT seq, event_id, ts, principal, action, resource, outcome, details, "
            f"prev_hash, hash FROM {prefix}_events ORDER BY seq"
        )

        def read_rows() -> None:
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute(select_all)
                cursor.fetchall()
            finally:
                raw.close()

        results["read rows, no checks"] = rate(report.events_checked, read_rows)
    finally:
        log.drop_tables()
        log.close()
        metadata.drop_all(engine)
        engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000, help="events in the batched run")
    parser.add_argument("--single", type=int, default=2_000, help="events appended one by one")
    parser.add_argument("--batch", type=int, default=500, help="events per batch")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--json", action="store_true", help="also print raw results as JSON")
    args = parser.parse_args()

    all_results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for store in args.stores.split(","):
            per_metric: dict[str, list[float]] = {}
            for repeat in range(args.repeats):
                prefix = f"bench_{uuid.uuid4().hex[:8]}"
                url = (
                    f"sqlite:///{workdir / f'{prefix}.db'}"
                    if store == "sqlite"
                    else args.postgres_url
                )
                for metric, value in one_repeat(url, prefix, args, workdir).items():
                    per_metric.setdefault(metric, []).append(value)
                print(f"{store}: repeat {repeat + 1}/{args.repeats} done", flush=True)
            all_results[store] = per_metric

    print()
    print(
        f"events: {args.single} one-by-one, {args.events} batched ({args.batch}/batch); "
        f"medians of {args.repeats} repeats"
    )
    print(f"{'store':<10} {'measure':<20} {'events/s':>12}")
    for store, per_metric in all_results.items():
        medians = {metric: statistics.median(values) for metric, values in per_metric.items()}
        for metric, value in medians.items():
            print(f"{store:<10} {metric:<20} {value:>12,.0f}")
        plains = (
            "plain one-by-one",
            "plain one-by-one, autocommit",
            "plain one-by-one, autocommit, held connection",
            "plain batched",
        )
        for plain in plains:
            if plain in medians:
                chained = "chained batched" if "batched" in plain else "chained one-by-one"
                ratio = medians[plain] / medians[chained]
                label = "chained/" + plain.removeprefix("plain ")
                print(f"{store:<10} {label:<50} {ratio:>5.2f}x")
    if args.json:
        print(json.dumps(all_results, indent=2))


if __name__ == "__main__":
    main()

"""The same guarantees on PostgreSQL (real server via the ``postgres_url`` fixture)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.audit import AuditLog, EventInput, verify_inclusion
from tests.audit.conftest import fill

pytestmark = pytest.mark.postgres


def test_append_query_prove_verify(pg_log: AuditLog, signing_key: Ed25519PrivateKey) -> None:
    ids = fill(pg_log, 19)
    pg_log.append_many([EventInput("bob", "train", "model:m", "success", {"rows": 10})] * 6)
    assert [c.tree_size for c in pg_log.checkpoints()] == [8, 16, 24]
    assert len(pg_log.query(principal="bob")) == 6
    assert [e.seq for e in pg_log.query(limit=2)] == [23, 24]
    proof = pg_log.prove(ids[3])
    checkpoint = pg_log.checkpoint_at(proof.tree_size)
    assert verify_inclusion(proof, pg_log.get(ids[3]), checkpoint, signing_key.public_key())
    report = pg_log.verify()
    assert report.ok and report.events_checked == 25


def _execute(url: str, statement: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_tampering_is_named(pg_log: AuditLog, postgres_url: str, pg_prefix: str) -> None:
    ids = fill(pg_log, 20)
    _execute(postgres_url, f"UPDATE {pg_prefix}_events SET resource = 'x' WHERE seq = 11")
    report = pg_log.verify()
    assert not report.ok and report.first_bad_event_id == ids[11]

    _execute(postgres_url, f"DELETE FROM {pg_prefix}_events WHERE seq >= 10")
    _execute(postgres_url, f"DELETE FROM {pg_prefix}_checkpoints WHERE tree_size >= 10")
    report = pg_log.verify()
    assert not report.ok
    assert "truncated" in (report.reason or "") and report.first_bad_event_id == ids[15]


def test_parallel_verify_matches_sequential(
    pg_log: AuditLog, postgres_url: str, pg_prefix: str
) -> None:
    ids = fill(pg_log, 40)
    assert pg_log.verify(parallel=True) == pg_log.verify(parallel=False)
    assert pg_log.verify(parallel=True).ok
    _execute(postgres_url, f"UPDATE {pg_prefix}_events SET outcome = 'x' WHERE seq = 33")
    report = pg_log.verify(parallel=True)
    assert report == pg_log.verify(parallel=False)
    assert not report.ok and report.first_bad_event_id == ids[33]


def test_awkward_text_survives_the_append_function(pg_log: AuditLog) -> None:
    """The server hashes exactly what Python hashes: quotes, backslashes, unicode."""
    awkward = "o'brien \\x00 %s %% $1 ; COMMIT; -- é 中文"
    event = pg_log.append(
        principal=awkward,
        action="a;b",
        resource="r'); DROP TABLE x; --",
        outcome="allow",
        details={"q": "'\\\"", "n": 1},
    )
    pg_log.append_many([EventInput(awkward, "act", "res", "deny", {"k": "'"})] * 3)
    stored = pg_log.get(event.id)
    assert stored == event
    assert stored.principal == awkward and stored.details == {"n": 1, "q": "'\\\""}
    report = pg_log.verify()
    assert report.ok and report.events_checked == 4


def test_append_survives_a_dropped_connection(
    pg_log: AuditLog, postgres_url: str, pg_prefix: str
) -> None:
    """The write path has no pre-ping: a connection the server closed is replaced once."""
    fill(pg_log, 3)
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            killed = conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND state = 'idle' AND query LIKE %s",
                (f"%FROM {pg_prefix}_append_v1%",),
            ).fetchall()
    finally:
        engine.dispose()
    assert killed == [(True,)]
    fill(pg_log, 2)
    report = pg_log.verify()
    assert report.ok and report.events_checked == 5


@pytest.mark.parametrize(
    ("isolation", "call"),
    [
        (
            "REPEATABLE READ",
            "_append_v1(1, 0, ARRAY['x'], 't', ARRAY['p'], "
            "ARRAY['a'], ARRAY['r'], ARRAY['o'], ARRAY['{}'])",
        ),
        ("SERIALIZABLE", "_append_v1_row(1, 0, 'x', 't', 'p', 'a', 'r', 'o', '{}')"),
    ],
    ids=["batch-function", "row-function"],
)
def test_append_functions_refuse_other_isolation_levels(
    pg_log: AuditLog, postgres_url: str, pg_prefix: str, isolation: str, call: str
) -> None:
    """Fail closed: outside READ COMMITTED the head read could be stale, so nothing is written."""
    fill(pg_log, 2)
    engine = sa.create_engine(postgres_url, isolation_level=isolation)
    try:
        with pytest.raises(sa.exc.DBAPIError, match="READ COMMITTED"), engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT * FROM {pg_prefix}{call}")
    finally:
        engine.dispose()
    report = pg_log.verify()
    assert report.ok and report.events_checked == 2


def test_forked_child_appends_on_its_own_connection(pg_log: AuditLog) -> None:
    """The appender's connection stays the parent's: a forked child opens another."""
    import multiprocessing

    fill(pg_log, 3)  # the parent's dedicated connection exists now

    def child() -> None:
        fill(pg_log, 4, principal="child")

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 0
    fill(pg_log, 2)  # the parent's connection still works
    report = pg_log.verify()
    assert report.ok and report.events_checked == 9
    assert len(pg_log.query(principal="child")) == 4


def test_drop_tables_removes_the_append_function(
    pg_log: AuditLog, postgres_url: str, pg_prefix: str
) -> None:
    engine = sa.create_engine(postgres_url)
    query = "SELECT count(*) FROM pg_proc WHERE proname LIKE %s"
    pattern = f"{pg_prefix}_append_v1%"
    try:
        with engine.begin() as conn:  # a log made by an earlier version also has _one
            conn.exec_driver_sql(
                f"CREATE FUNCTION {pg_prefix}_append_v1_one() "
                "RETURNS int LANGUAGE sql AS 'SELECT 1'"
            )
        with engine.connect() as conn:
            assert conn.exec_driver_sql(query, (pattern,)).scalar() == 3
        pg_log.drop_tables()
        with engine.connect() as conn:
            assert conn.exec_driver_sql(query, (pattern,)).scalar() == 0
    finally:
        engine.dispose()

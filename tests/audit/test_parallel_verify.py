"""Verification split across two processes reports exactly what the sequential pass does."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.audit import AuditLog, EventInput
from bastion.audit.events import event_hash
from bastion.audit.rangescan import fork_available
from bastion.audit.verify import PARENT_SHARE
from tests.audit.conftest import LogFactory

SIZE = 200
SPLIT = round(SIZE * PARENT_SHARE)  # first seq checked by the child (blocks of 1 event)
BIG = 2100  # large enough for blocks of 256 events: the child sends block roots
BIG_SPLIT = 1024
EVENTS = "bastion_audit_events"
CHECKPOINTS = "bastion_audit_checkpoints"
Tamper = Callable[[sqlite3.Connection, int], None]


@pytest.fixture(autouse=True)
def _forkable_process() -> None:
    """Verification forks only from a single-threaded process; otherwise it stays sequential
    and these comparisons would prove nothing.  Threads left by earlier tests in a full run
    make this skip here; ``test_parallel_verify_isolated.py`` runs the module in a fresh
    process so it is always exercised."""
    if not fork_available():
        pytest.skip("other threads in this process; run in a fresh process by the isolated test")


def _row(db: sqlite3.Connection, seq: int) -> tuple[object, ...]:
    found = db.execute(f"SELECT * FROM {EVENTS} WHERE seq = ?", (seq,)).fetchone()
    assert found is not None
    return tuple(found)


def _shift_up_from(db: sqlite3.Connection, seq: int) -> None:
    db.execute(f"UPDATE {EVENTS} SET seq = -seq - 1 WHERE seq >= ?", (seq,))
    db.execute(f"UPDATE {EVENTS} SET seq = -seq WHERE seq < 0")


def edit_field(db: sqlite3.Connection, seq: int) -> None:
    db.execute(f"UPDATE {EVENTS} SET principal = 'mallory' WHERE seq = ?", (seq,))


def edit_prev_hash(db: sqlite3.Connection, seq: int) -> None:
    db.execute(f"UPDATE {EVENTS} SET prev_hash = ? WHERE seq = ?", (bytes(32), seq))


def text_in_blob(db: sqlite3.Connection, seq: int) -> None:
    db.execute(f"UPDATE {EVENTS} SET hash = 'not bytes' WHERE seq = ?", (seq,))


def delete_row(db: sqlite3.Connection, seq: int) -> None:
    db.execute(f"DELETE FROM {EVENTS} WHERE seq = ?", (seq,))


def delete_and_renumber(db: sqlite3.Connection, seq: int) -> None:
    db.execute(f"DELETE FROM {EVENTS} WHERE seq = ?", (seq,))
    db.execute(f"UPDATE {EVENTS} SET seq = seq - 1 WHERE seq > ?", (seq,))


def insert_forged(db: sqlite3.Connection, seq: int) -> None:
    previous = _row(db, seq - 1)
    fields = ("00000000-0000-4000-8000-00000000000f", previous[2], "mallory", "a", "r", "allow")
    digest = event_hash(*fields, "{}", previous[9])  # type: ignore[arg-type]
    _shift_up_from(db, seq)
    db.execute(
        f"INSERT INTO {EVENTS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, *fields, "{}", previous[9], digest),
    )


def swap_with_next(db: sqlite3.Connection, seq: int) -> None:
    db.execute(f"UPDATE {EVENTS} SET seq = -1 WHERE seq = ?", (seq,))
    db.execute(f"UPDATE {EVENTS} SET seq = ? WHERE seq = ?", (seq, seq + 1))
    db.execute(f"UPDATE {EVENTS} SET seq = ? WHERE seq = -1", (seq + 1,))


def truncate_tail(db: sqlite3.Connection, seq: int) -> None:
    db.execute(f"DELETE FROM {EVENTS} WHERE seq >= ?", (seq,))


def truncate_tail_and_checkpoints(db: sqlite3.Connection, seq: int) -> None:
    db.execute(f"DELETE FROM {EVENTS} WHERE seq >= ?", (seq,))
    db.execute(f"DELETE FROM {CHECKPOINTS} WHERE tree_size > ?", (seq,))


def rewrite_with_recomputed_hashes(db: sqlite3.Connection, seq: int) -> None:
    prev = _row(db, seq - 1)[9]
    (last,) = db.execute(f"SELECT MAX(seq) FROM {EVENTS}").fetchone()
    for position in range(seq, last + 1):
        _, event_id, ts, principal, action, resource, outcome, details, _, _ = _row(db, position)
        if position == seq:
            principal = "mallory"
        digest = event_hash(event_id, ts, principal, action, resource, outcome, details, prev)  # type: ignore[arg-type]
        db.execute(
            f"UPDATE {EVENTS} SET principal = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (principal, prev, digest, position),
        )
        prev = digest


def forge_checkpoint_after(db: sqlite3.Connection, seq: int) -> None:
    db.execute(
        f"UPDATE {CHECKPOINTS} SET signature = 'AAAA' WHERE tree_size = "
        f"(SELECT MIN(tree_size) FROM {CHECKPOINTS} WHERE tree_size > ?)",
        (seq,),
    )


def wrong_checkpoint_head_id(db: sqlite3.Connection, seq: int) -> None:
    db.execute(
        f"UPDATE {CHECKPOINTS} SET head_event_id = 'x' WHERE tree_size = "
        f"(SELECT MIN(tree_size) FROM {CHECKPOINTS} WHERE tree_size > ?)",
        (seq,),
    )


TAMPERS: list[Tamper] = [
    edit_field,
    edit_prev_hash,
    text_in_blob,
    delete_row,
    delete_and_renumber,
    insert_forged,
    swap_with_next,
    truncate_tail,
    truncate_tail_and_checkpoints,
    rewrite_with_recomputed_hashes,
    forge_checkpoint_after,
    wrong_checkpoint_head_id,
]
# In the parent's range, on both sides of the split, and near the end.
POSITIONS = [3, SPLIT - 1, SPLIT, SPLIT + 1, SIZE - 5]


def _filled(make_log: LogFactory, size: int = SIZE, every: int = 8) -> AuditLog:
    log = make_log(checkpoint_every=every)
    inputs = [
        EventInput(f"user-{i % 3}", "dataset:read", f"dataset:d/{i}", "allow", {"i": i})
        for i in range(size)
    ]
    for start in range(0, size, 37):  # uneven batches: checkpoints land mid-batch
        log.append_many(inputs[start : start + 37])
    return log


def test_intact_log_same_report(make_log: LogFactory) -> None:
    log = _filled(make_log)
    parallel, sequential = log.verify(parallel=True), log.verify(parallel=False)
    assert parallel.ok and parallel == sequential
    assert parallel.events_checked == SIZE and parallel.checkpoints_checked == SIZE // 8


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda tamper: tamper.__name__)
def test_tampering_same_report(
    make_log: LogFactory, sqlite_url: str, tamper: Tamper, position: int
) -> None:
    log = _filled(make_log)
    with sqlite3.connect(Path(sqlite_url.removeprefix("sqlite:///"))) as db:
        tamper(db, position)
    sequential = log.verify(parallel=False)
    parallel = log.verify(parallel=True)
    assert not sequential.ok
    assert parallel == sequential


def test_intact_tail_is_not_rescanned(
    make_log: LogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child's range is accepted as is: the parent reads only its own rows."""
    from bastion.audit import verify

    log = _filled(make_log)
    read_by_parent: list[int] = []
    original = verify.event_rows

    def counting(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for batch in original(*args, **kwargs):  # type: ignore[arg-type]
            read_by_parent.append(len(batch))
            yield batch

    monkeypatch.setattr(verify, "event_rows", counting)
    assert log.verify(parallel=True).ok
    assert sum(read_by_parent) == SPLIT


def test_child_checks_the_tail_signatures(
    make_log: LogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent verifies only the signatures of checkpoints in its own range."""
    from bastion.audit.checkpoints import Checkpoint

    log = _filled(make_log)
    checked_by_parent: list[int] = []
    original = Checkpoint.signature_valid

    def counting(self: Checkpoint, *args: object) -> bool:
        checked_by_parent.append(self.tree_size)
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Checkpoint, "signature_valid", counting)
    report = log.verify(parallel=True)
    assert report.ok and report.checkpoints_checked == SIZE // 8
    assert checked_by_parent and max(checked_by_parent) <= SPLIT


@pytest.mark.parametrize("every", [8, 100, 256])
def test_block_roots_intact(make_log: LogFactory, every: int) -> None:
    log = _filled(make_log, BIG, every)
    parallel, sequential = log.verify(parallel=True), log.verify(parallel=False)
    assert parallel.ok and parallel == sequential and parallel.events_checked == BIG


@pytest.mark.parametrize("every", [8, 256])
@pytest.mark.parametrize("position", [BIG_SPLIT - 1, BIG_SPLIT, BIG_SPLIT + 300, BIG - 60])
@pytest.mark.parametrize(
    "tamper",
    [edit_field, delete_row, swap_with_next, truncate_tail, rewrite_with_recomputed_hashes],
    ids=lambda tamper: tamper.__name__,
)
def test_block_roots_tampering_same_report(
    make_log: LogFactory, sqlite_url: str, tamper: Tamper, position: int, every: int
) -> None:
    log = _filled(make_log, BIG, every)
    with sqlite3.connect(Path(sqlite_url.removeprefix("sqlite:///"))) as db:
        tamper(db, position)
    sequential = log.verify(parallel=False)
    assert not sequential.ok
    assert log.verify(parallel=True) == sequential

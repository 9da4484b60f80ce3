"""Hand-tampering the SQLite file makes ``bastion audit verify`` exit 1 naming the event."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.audit import EventInput, open_audit_log
from bastion.audit.events import event_hash
from bastion.cli.main import app
from bastion.core.errors import IntegrityError
from bastion.core.settings import load_settings
from bastion.secrets import keyring_from_settings
from tests.audit.conftest import fill

runner = CliRunner()
EVENTS = "bastion_audit_events"
CHECKPOINTS = "bastion_audit_checkpoints"


@pytest.fixture
def ids(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A 20-event log under ./.bastion with checkpoints at 8 and 16."""
    monkeypatch.setenv("BASTION_AUDIT__CHECKPOINT_EVERY", "8")
    settings = load_settings()
    keyring_from_settings(settings).init()
    with open_audit_log(settings) as log:
        return fill(log, 20)


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(Path(".bastion/audit.db"))
    yield connection
    connection.commit()
    connection.close()


def verify() -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify"])
    return result.exit_code, result.output


def row(db: sqlite3.Connection, seq: int) -> tuple[object, ...]:
    found = db.execute(f"SELECT * FROM {EVENTS} WHERE seq = ?", (seq,)).fetchone()
    assert found is not None
    return tuple(found)


def shift_up_from(db: sqlite3.Connection, seq: int) -> None:
    """Renumber events >= seq one place up (two steps to dodge the primary key)."""
    db.execute(f"UPDATE {EVENTS} SET seq = -seq - 1 WHERE seq >= ?", (seq,))
    db.execute(f"UPDATE {EVENTS} SET seq = -seq WHERE seq < 0")


def test_intact_log_exits_0(ids: list[str]) -> None:
    code, output = verify()
    assert code == 0, output
    assert "intact" in output and "20 events" in output


def test_edited_field(ids: list[str], db: sqlite3.Connection) -> None:
    db.execute(f"UPDATE {EVENTS} SET principal = 'mallory' WHERE seq = 3")
    db.commit()
    code, output = verify()
    assert code == 1
    assert ids[3] in output and "contents changed" in output


def test_edited_details(ids: list[str], db: sqlite3.Connection) -> None:
    db.execute(f"UPDATE {EVENTS} SET details = '{{}}' WHERE seq = 18")  # after the last checkpoint
    db.commit()
    code, output = verify()
    assert code == 1 and ids[18] in output


def test_deleted_row(ids: list[str], db: sqlite3.Connection) -> None:
    db.execute(f"DELETE FROM {EVENTS} WHERE seq = 5")
    db.commit()
    code, output = verify()
    assert code == 1
    assert ids[6] in output and "deleted" in output


def test_deleted_row_with_renumbering(ids: list[str], db: sqlite3.Connection) -> None:
    db.execute(f"DELETE FROM {EVENTS} WHERE seq = 5")
    db.execute(f"UPDATE {EVENTS} SET seq = seq - 1 WHERE seq > 5")
    db.commit()
    code, output = verify()
    assert code == 1
    assert ids[6] in output and "chain broken" in output


def test_inserted_row_with_a_correct_hash(ids: list[str], db: sqlite3.Connection) -> None:
    previous = row(db, 4)
    forged_id = "00000000-0000-4000-8000-000000000000"
    fields = (forged_id, previous[2], "mallory", "dataset:read", "dataset:x", "allow", "{}")
    digest = event_hash(*fields, previous[9])  # type: ignore[arg-type]
    shift_up_from(db, 5)
    db.execute(
        f"INSERT INTO {EVENTS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (5, *fields, previous[9], digest),
    )
    db.commit()
    code, output = verify()
    assert code == 1
    assert forged_id in output and "inserted" in output


def test_inserted_copy_of_a_row(ids: list[str], db: sqlite3.Connection) -> None:
    copied = row(db, 9)
    forged_id = "11111111-1111-4111-8111-111111111111"
    shift_up_from(db, 2)
    db.execute(
        f"INSERT INTO {EVENTS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (2, forged_id, *copied[2:]),
    )
    db.commit()
    code, output = verify()
    assert code == 1 and forged_id in output


@pytest.mark.parametrize(("a", "b"), [(2, 6), (10, 11)])
def test_swapped_rows(ids: list[str], db: sqlite3.Connection, a: int, b: int) -> None:
    db.execute(f"UPDATE {EVENTS} SET seq = -1 WHERE seq = ?", (a,))
    db.execute(f"UPDATE {EVENTS} SET seq = ? WHERE seq = ?", (a, b))
    db.execute(f"UPDATE {EVENTS} SET seq = ? WHERE seq = -1", (b,))
    db.commit()
    code, output = verify()
    assert code == 1
    assert ids[b] in output  # the event now sitting in the earlier position


def test_truncated_tail_after_a_checkpoint(ids: list[str], db: sqlite3.Connection) -> None:
    db.execute(f"DELETE FROM {EVENTS} WHERE seq >= 12")
    db.commit()
    code, output = verify()
    assert code == 1
    assert "truncated" in output and ids[15] in output


def test_truncated_tail_and_checkpoints_is_caught_by_the_witness(
    ids: list[str], db: sqlite3.Connection
) -> None:
    db.execute(f"DELETE FROM {EVENTS} WHERE seq >= 12")
    db.execute(f"DELETE FROM {CHECKPOINTS} WHERE tree_size > 12")
    db.commit()
    code, output = verify()
    assert code == 1
    assert "truncated" in output and "witness line 2" in output and ids[15] in output


def test_everything_deleted_is_caught_by_the_witness(
    ids: list[str], db: sqlite3.Connection
) -> None:
    db.execute(f"DELETE FROM {EVENTS}")
    db.execute(f"DELETE FROM {CHECKPOINTS}")
    db.commit()
    code, output = verify()
    assert code == 1 and "truncated" in output


def test_rewritten_chain_with_recomputed_hashes(ids: list[str], db: sqlite3.Connection) -> None:
    """An attacker without the key re-hashes everything after an edit: checkpoints catch it."""
    prev = row(db, 2)[9]
    for seq in range(3, 20):
        _, event_id, ts, principal, action, resource, outcome, details, _, _ = row(db, seq)
        if seq == 3:
            principal = "mallory"
        digest = event_hash(event_id, ts, principal, action, resource, outcome, details, prev)  # type: ignore[arg-type]
        db.execute(
            f"UPDATE {EVENTS} SET principal = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (principal, prev, digest, seq),
        )
        prev = digest
    db.commit()
    code, output = verify()
    assert code == 1
    assert "checkpoint at tree size 8" in output and ids[0] in output


def test_forged_checkpoint_signature(ids: list[str], db: sqlite3.Connection) -> None:
    db.execute(f"UPDATE {CHECKPOINTS} SET signature = 'AAAA' WHERE tree_size = 16")
    db.commit()
    code, output = verify()
    assert code == 1
    assert "invalid signature" in output and ids[15] in output


def test_malformed_witness_is_a_finding(ids: list[str]) -> None:
    with Path(".bastion/audit-witness.jsonl").open("a") as handle:
        handle.write("{not json\n")
    code, output = verify()
    assert code == 1 and "audit-witness.jsonl:3" in output


def test_verify_json_report(ids: list[str], db: sqlite3.Connection) -> None:
    db.execute(f"UPDATE {EVENTS} SET outcome = 'allow' WHERE seq = 0")
    db.commit()
    result = runner.invoke(app, ["audit", "verify", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["first_bad_event_id"] == ids[0] and report["first_bad_seq"] == 0


def test_appending_to_a_truncated_log_fails_closed(ids: list[str], db: sqlite3.Connection) -> None:
    db.execute(f"DELETE FROM {EVENTS} WHERE seq >= 12")
    db.commit()
    with open_audit_log(load_settings()) as log:
        with pytest.raises(IntegrityError, match="truncated"):
            # Five more events reach tree size 16 again, where a checkpoint already exists.
            log.append_many([EventInput("alice", "read", "dataset:x", "allow")] * 5)
        assert len(log.query()) == 12

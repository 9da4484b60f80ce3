"""AuditLog behaviour on SQLite: append, query, checkpoints, witness, proofs."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.audit import (
    AuditEvent,
    Checkpoint,
    EventInput,
    InclusionProof,
    verify_inclusion,
)
from bastion.core.audit_sink import AuditSink
from bastion.core.errors import ConfigError, NotFoundError, SecretError, ValidationError
from tests.audit.conftest import LogFactory, fill


def test_audit_log_is_an_audit_sink(make_log: LogFactory) -> None:
    assert isinstance(make_log(), AuditSink)


def test_append_links_events_into_a_chain(make_log: LogFactory) -> None:
    log = make_log()
    first = log.append(principal="alice", action="read", resource="dataset:a", outcome="allow")
    second = log.append(
        principal="bob", action="train", resource="model:m", outcome="success", details={"n": 3}
    )
    assert (first.seq, second.seq) == (0, 1)
    assert first.prev_hash == "00" * 32
    assert second.prev_hash == first.hash
    assert second.leaf_hash().hex() == second.hash
    assert log.get(second.id) == second
    assert log.get(second.id).details == {"n": 3}


def test_get_unknown_event_is_not_found(make_log: LogFactory) -> None:
    with pytest.raises(NotFoundError):
        make_log().get("no-such-id")


def test_append_many_is_all_or_nothing(make_log: LogFactory) -> None:
    log = make_log()
    good = EventInput("alice", "read", "dataset:a", "allow")
    bad = EventInput("alice", "read", "dataset:a", "allow", {"secret": b"raw bytes"})
    with pytest.raises(ValidationError):
        log.append_many([good, bad])
    assert log.query() == []
    stored = log.append_many([good] * 20)
    assert [e.seq for e in stored] == list(range(20))
    assert log.verify().ok


def test_query_filters_and_limit(make_log: LogFactory) -> None:
    log = make_log()
    fill(log, 10, principal="alice")
    fill(log, 5, principal="bob")
    assert len(log.query(principal="bob")) == 5
    denied = log.query(principal="alice", outcome="deny")
    assert [e.resource for e in denied] == [f"dataset:clinical/{i}" for i in (0, 4, 8)]
    newest = log.query(limit=3)
    assert [e.seq for e in newest] == [12, 13, 14]
    middle = log.query()[7].time
    assert all(e.time >= middle for e in log.query(since=middle))
    assert log.query(until=middle - timedelta(days=1)) == []
    with pytest.raises(ValidationError):
        log.query(since=middle.replace(tzinfo=None))
    with pytest.raises(ValidationError):
        log.query(limit=0)


def test_checkpoints_every_n_events_and_in_the_witness(
    make_log: LogFactory, tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    log = make_log(checkpoint_every=8)
    fill(log, 20)
    log.append_many([EventInput("bob", "train", "model:m", "success")] * 13)  # crosses 24 and 32
    sizes = [c.tree_size for c in log.checkpoints()]
    assert sizes == [8, 16, 24, 32]
    lines = (tmp_path / "witness.jsonl").read_text().splitlines()
    assert [json.loads(line)["tree_size"] for line in lines] == sizes
    assert all(c.signature_valid(signing_key.public_key()) for c in log.checkpoints())
    report = log.verify()
    assert report.ok and report.events_checked == 33
    assert report.checkpoints_checked == 4  # database rows; witness entries counted apart
    assert report.witness_entries_checked == 4


def test_checkpoint_on_demand_is_idempotent(make_log: LogFactory) -> None:
    log = make_log(checkpoint_every=100)
    with pytest.raises(NotFoundError):
        log.checkpoint()
    fill(log, 5)
    first = log.checkpoint()
    assert first.tree_size == 5
    assert log.checkpoint() == first
    fill(log, 2)
    assert log.checkpoint().tree_size == 7
    assert log.verify().ok


def test_log_without_signing_key_chains_but_cannot_sign(make_log: LogFactory) -> None:
    log = make_log(signing_key=None, checkpoint_every=2)
    ids = fill(log, 5)
    assert log.checkpoints() == []
    with pytest.raises(SecretError):
        log.checkpoint()
    with pytest.raises(NotFoundError):
        log.prove(ids[0])
    report = log.verify()
    assert report.ok and not report.signatures_verified


def test_verification_with_another_public_key_fails(make_log: LogFactory) -> None:
    log = make_log()
    fill(log, 10)
    other = Ed25519PrivateKey.generate().public_key()
    report = log.verify(other)
    assert not report.ok
    assert "signature" in (report.reason or "")


def test_inclusion_proof_verifies_and_fails_for_a_changed_event(
    make_log: LogFactory, signing_key: Ed25519PrivateKey
) -> None:
    log = make_log()
    ids = fill(log, 37)
    public = signing_key.public_key()
    for event_id in (ids[0], ids[17], ids[36]):
        proof = log.prove(event_id)
        event = log.get(event_id)
        checkpoint = log.checkpoint_at(proof.tree_size)
        assert verify_inclusion(proof, event, checkpoint, public)
        assert len(proof.audit_path) <= 6

    proof = log.prove(ids[17])
    event = log.get(ids[17])
    checkpoint = log.checkpoint_at(proof.tree_size)
    data = event.to_dict()
    data["outcome"] = "allow" if event.outcome == "deny" else "deny"
    assert not verify_inclusion(proof, AuditEvent.from_dict(data), checkpoint, public)
    data = event.to_dict()
    data["details"] = {"rule": "edited"}
    assert not verify_inclusion(proof, AuditEvent.from_dict(data), checkpoint, public)
    other_proof = InclusionProof.from_dict({**proof.to_dict(), "leaf_index": 16})
    assert not verify_inclusion(other_proof, event, checkpoint, public)
    bad_checkpoint = Checkpoint.from_dict({**checkpoint.to_dict(), "tree_size": 36})
    assert not verify_inclusion(proof, event, bad_checkpoint, public)
    wrong_key = Ed25519PrivateKey.generate().public_key()
    assert not verify_inclusion(proof, event, checkpoint, wrong_key)


def test_export_jsonl_round_trips_events_and_checkpoints(make_log: LogFactory) -> None:
    log = make_log()
    fill(log, 9)
    buffer = io.StringIO()
    assert log.export_jsonl(buffer, principal="alice") == 9
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    events = [AuditEvent.from_dict(line) for line in lines if line["type"] == "event"]
    checkpoints = [Checkpoint.from_dict(line) for line in lines if line["type"] == "checkpoint"]
    assert [e.seq for e in events] == list(range(9))
    assert all(e.leaf_hash().hex() == e.hash for e in events)
    assert [c.tree_size for c in checkpoints] == [8]


def test_reopening_continues_the_chain(make_log: LogFactory, sqlite_url: str) -> None:
    log = make_log()
    fill(log, 5)
    log.close()
    again = make_log()
    fill(again, 6)
    assert again.verify().ok
    assert len(again.query()) == 11


def test_bad_configuration_is_refused(make_log: LogFactory, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        make_log(table_prefix="Robert'); DROP TABLE")
    with pytest.raises(ConfigError):
        make_log(url="mysql://nobody@localhost/x")
    with pytest.raises(ConfigError):
        make_log(url="not a url")
    with pytest.raises(ConfigError):
        make_log(checkpoint_every=0)


def test_repr_hides_the_database_password(make_log: LogFactory) -> None:
    log = make_log()
    assert "audit.db" in repr(log)
    from bastion.audit.store import describe_db_error

    message = describe_db_error("postgresql://u:hunter2@db/x", RuntimeError("refused"))
    assert "hunter2" not in message and "***" in message


def test_any_single_field_edit_is_named(make_log: LogFactory, tmp_path: Path) -> None:
    """Property: editing any text field of any event is reported at exactly that event."""
    import sqlite3

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    log = make_log()
    ids = fill(log, 30)
    columns = ["event_id", "ts", "principal", "action", "resource", "outcome", "details"]

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        seq=st.integers(min_value=0, max_value=29),
        column=st.sampled_from(columns),
        suffix=st.text(min_size=1, max_size=3),
    )
    def edit_is_caught(seq: int, column: str, suffix: str) -> None:
        db = sqlite3.connect(tmp_path / "audit.db")
        try:
            (original,) = db.execute(
                f"SELECT {column} FROM bastion_audit_events WHERE seq = ?", (seq,)
            ).fetchone()
            db.execute(
                f"UPDATE bastion_audit_events SET {column} = ? WHERE seq = ?",
                (original + suffix, seq),
            )
            db.commit()
            report = log.verify()
            assert not report.ok
            assert report.first_bad_seq == seq
            expected_id = original + suffix if column == "event_id" else ids[seq]
            assert report.first_bad_event_id == expected_id
        finally:
            db.execute(
                f"UPDATE bastion_audit_events SET {column} = ? WHERE seq = ?", (original, seq)
            )
            db.commit()
            db.close()

    edit_is_caught()
    assert log.verify().ok

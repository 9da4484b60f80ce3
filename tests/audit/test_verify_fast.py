"""The fast verification pass never changes a report: it equals the row-by-row pass.

``_Scan.scan`` first tries a batch-at-a-time pass and falls back to the exact
row-by-row pass at any doubt.  These tests build small logs, tamper with them in
every way the parallel-verification tests know, read them in batches of a few
rows (so batch edges fall everywhere), and compare with the exact pass alone.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from unittest import mock

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.audit import AuditLog, EventInput, rangescan
from bastion.audit.events import event_hash
from bastion.audit.verify import _Scan
from tests.audit.test_parallel_verify import EVENTS, TAMPERS, Tamper, _row

KEY = Ed25519PrivateKey.generate()


def separator_with_recomputed_hash(db: sqlite3.Connection, seq: int) -> None:
    """An ambiguous encoding whose hash still matches (only the separator check sees it)."""
    row = _row(db, seq)
    principal = f"{row[3]}\x1fx"
    digest = event_hash(row[1], row[2], principal, row[4], row[5], row[6], row[7], row[8])  # type: ignore[arg-type]
    db.execute(
        f"UPDATE {EVENTS} SET principal = ?, hash = ? WHERE seq = ?", (principal, digest, seq)
    )


def field_as_blob(db: sqlite3.Connection, seq: int) -> None:
    db.execute(f"UPDATE {EVENTS} SET action = CAST(action AS BLOB) WHERE seq = ?", (seq,))


ALL_TAMPERS: list[Tamper] = [*TAMPERS, separator_with_recomputed_hash, field_as_blob]


def _build(directory: Path, size: int, every: int, chunk: int) -> AuditLog:
    log = AuditLog(
        f"sqlite:///{directory / 'audit.db'}",
        signing_key=KEY,
        checkpoint_every=every,
        witness_path=directory / "witness.jsonl",
    )
    inputs = [
        EventInput(f"user-{i % 3}", "dataset:read", f"dataset:d/{i}", "allow", {"i": i})
        for i in range(size)
    ]
    for start in range(0, size, chunk):
        log.append_many(inputs[start : start + chunk])
    return log


def _exact_only(_self: _Scan, _batch: object) -> bool:
    return False


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(min_value=2, max_value=40),
    every=st.integers(min_value=1, max_value=9),
    chunk=st.integers(min_value=1, max_value=12),
    batch=st.integers(min_value=1, max_value=9),
    tamper=st.sampled_from([None, *ALL_TAMPERS]),
    where=st.floats(min_value=0.0, max_value=1.0),
)
def test_fast_pass_reports_what_the_exact_pass_reports(
    size: int, every: int, chunk: int, batch: int, tamper: Tamper | None, where: float
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        log = _build(directory, size, every, chunk)
        try:
            if tamper is not None:
                position = min(size - 1, max(1, round(where * (size - 1))))
                with sqlite3.connect(directory / "audit.db") as db:
                    try:
                        tamper(db, position)
                    except AssertionError:  # the tamper needs rows this log lacks
                        return
            with mock.patch.object(rangescan, "BATCH_SIZE", batch):
                fast = log.verify(parallel=False)
                with mock.patch.object(_Scan, "_scan_fast", _exact_only):
                    exact = log.verify(parallel=False)
        finally:
            log.close()
    assert fast == exact
    if tamper is None:
        assert fast.ok and fast.events_checked == size


def test_fast_pass_handles_intact_batches_itself(tmp_path: Path) -> None:
    """On an intact log the exact pass never runs (the speed-up is real)."""
    log = _build(tmp_path, 50, 8, 7)
    try:
        with (
            mock.patch.object(rangescan, "BATCH_SIZE", 6),
            mock.patch.object(_Scan, "_scan_exact", side_effect=AssertionError("exact pass")),
        ):
            report = log.verify(parallel=False)
    finally:
        log.close()
    assert report.ok and report.events_checked == 50 and report.checkpoints_checked == 6


def test_separator_in_an_unchecked_event_is_found_by_the_fast_pass_too(tmp_path: Path) -> None:
    """Past the last checkpoint only the separator count sees a re-hashed ambiguous row."""
    log = _build(tmp_path, 30, 8, 5)  # checkpoints at 8, 16, 24: seq 27 is covered by none
    try:
        with sqlite3.connect(tmp_path / "audit.db") as db:
            separator_with_recomputed_hash(db, 27)
            # Re-link the next event so that only the separator is wrong.
            (digest,) = db.execute(f"SELECT hash FROM {EVENTS} WHERE seq = 27").fetchone()
            row = _row(db, 28)
            relinked = event_hash(*row[1:8], digest)  # type: ignore[arg-type]
            db.execute(
                f"UPDATE {EVENTS} SET prev_hash = ?, hash = ? WHERE seq = 28", (digest, relinked)
            )
            prev = relinked
            row = _row(db, 29)
            db.execute(
                f"UPDATE {EVENTS} SET prev_hash = ?, hash = ? WHERE seq = 29",
                (prev, event_hash(*row[1:8], prev)),  # type: ignore[arg-type]
            )
        with mock.patch.object(rangescan, "BATCH_SIZE", 4):
            fast = log.verify(parallel=False)
            with mock.patch.object(_Scan, "_scan_fast", _exact_only):
                exact = log.verify(parallel=False)
    finally:
        log.close()
    assert fast == exact
    assert not fast.ok and fast.first_bad_seq == 27 and "separator" in (fast.reason or "")

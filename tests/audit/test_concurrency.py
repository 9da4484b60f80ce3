"""Several OS processes appending at once leave one valid chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.audit import AuditLog, EventInput
from bastion.core.crypto import load_ed25519_private

PROCESSES = 4
SINGLES = 25
BATCHES = len(range(0, SINGLES, 8))  # a batch after every 8th single append
BATCH_SIZE = 5
PER_PROCESS = SINGLES + BATCHES * BATCH_SIZE


def _worker(url: str, prefix: str, pem: bytes, witness: str, name: str) -> None:
    log = AuditLog(
        url,
        signing_key=load_ed25519_private(pem),
        checkpoint_every=7,
        table_prefix=prefix,
        witness_path=Path(witness),
    )
    try:
        for index in range(SINGLES):
            log.append(principal=name, action="write", resource=f"r/{index}", outcome="success")
            if index % 8 == 0:
                batch = [EventInput(name, "batch", "r/batch", "success")] * BATCH_SIZE
                log.append_many(batch)
    finally:
        log.close()


def _run_writers(url: str, prefix: str, key: Ed25519PrivateKey, witness: Path) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_worker, args=(url, prefix, pem, str(witness), f"writer-{n}"))
        for n in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0, f"writer failed with exit code {process.exitcode}"


def _check(log: AuditLog) -> None:
    report = log.verify()
    assert report.ok, report.summary()
    total = PROCESSES * PER_PROCESS
    assert report.events_checked == total
    events = log.query()
    assert [e.seq for e in events] == list(range(total))
    for writer in range(PROCESSES):
        assert len(log.query(principal=f"writer-{writer}")) == PER_PROCESS
    sizes = [c.tree_size for c in log.checkpoints()]
    assert sizes == list(range(7, total + 1, 7))


def test_concurrent_processes_on_sqlite(
    tmp_path: Path, signing_key: Ed25519PrivateKey, sqlite_url: str
) -> None:
    witness = tmp_path / "witness.jsonl"
    _run_writers(sqlite_url, "bastion_audit", signing_key, witness)
    with AuditLog(sqlite_url, signing_key=signing_key, witness_path=witness) as log:
        _check(log)


@pytest.mark.postgres
def test_concurrent_processes_on_postgres(
    tmp_path: Path, signing_key: Ed25519PrivateKey, postgres_url: str, pg_prefix: str
) -> None:
    witness = tmp_path / "witness.jsonl"
    try:
        _run_writers(postgres_url, pg_prefix, signing_key, witness)
        with AuditLog(
            postgres_url, signing_key=signing_key, table_prefix=pg_prefix, witness_path=witness
        ) as log:
            _check(log)
    finally:
        with AuditLog(postgres_url, signing_key=None, table_prefix=pg_prefix) as log:
            log.drop_tables()

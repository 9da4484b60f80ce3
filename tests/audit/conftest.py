"""Fixtures for the audit tests: a signing key and logs on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.audit import AuditLog
from bastion.core.crypto import generate_ed25519_private_pem, load_ed25519_private

LogFactory = Callable[..., AuditLog]


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return load_ed25519_private(generate_ed25519_private_pem())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture
def make_log(
    sqlite_url: str, signing_key: Ed25519PrivateKey, tmp_path: Path
) -> Iterator[LogFactory]:
    """Open SQLite logs in this test's directory; closed afterwards."""
    opened: list[AuditLog] = []

    def factory(**overrides: object) -> AuditLog:
        options: dict[str, object] = {
            "signing_key": signing_key,
            "checkpoint_every": 8,
            "witness_path": tmp_path / "witness.jsonl",
        }
        options.update(overrides)
        log = AuditLog(str(options.pop("url", sqlite_url)), **options)  # type: ignore[arg-type]
        opened.append(log)
        return log

    yield factory
    for log in opened:
        log.close()


@pytest.fixture
def pg_prefix() -> str:
    return f"t_audit_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_log(
    postgres_url: str, pg_prefix: str, signing_key: Ed25519PrivateKey, tmp_path: Path
) -> Iterator[AuditLog]:
    """A PostgreSQL log under a unique table prefix, dropped afterwards."""
    log = AuditLog(
        postgres_url,
        signing_key=signing_key,
        checkpoint_every=8,
        table_prefix=pg_prefix,
        witness_path=tmp_path / "witness.jsonl",
    )
    try:
        yield log
    finally:
        log.drop_tables()
        log.close()


def fill(log: AuditLog, count: int, *, principal: str = "alice") -> list[str]:
    """Append ``count`` simple events; return their ids."""
    ids = []
    for index in range(count):
        event = log.append(
            principal=principal,
            action="dataset:read",
            resource=f"dataset:clinical/{index}",
            outcome="allow" if index % 4 else "deny",
            details={"rule": "p, analyst, dataset:clinical/*, read", "index": index},
        )
        ids.append(event.id)
    return ids

"""The per-process key cache never outlives a change made by any process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bastion.core.errors import ServiceUnavailableError
from bastion.serving.apikeys import ApiKeyStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store_pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ApiKeyStore, ApiKeyStore]]:
    """Two independent stores on one database, as two gateway processes would have."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'keys.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    prefix = f"t{uuid.uuid4().hex[:10]}"
    first, second = ApiKeyStore(url, table_prefix=prefix), ApiKeyStore(url, table_prefix=prefix)
    try:
        yield first, second
    finally:
        first.close()
        second.close()
        if request.param == "postgresql":
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {prefix}_api_keys"))
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {prefix}_api_keys_revision"))
            engine.dispose()


def test_revocation_in_another_process_is_immediate(
    store_pair: tuple[ApiKeyStore, ApiKeyStore],
) -> None:
    gateway, admin = store_pair
    key = admin.create("svc", ["predict"]).plaintext
    for _ in range(3):  # warm the gateway's cache
        assert gateway.verify(key).valid
    admin.revoke("svc")
    assert gateway.verify(key).reason == "key-revoked"


def test_rotation_in_another_process_is_immediate(
    store_pair: tuple[ApiKeyStore, ApiKeyStore],
) -> None:
    gateway, admin = store_pair
    old = admin.create("svc", ["predict"]).plaintext
    assert gateway.verify(old).valid
    new = admin.rotate("svc").plaintext
    assert gateway.verify(old).reason == "key-unknown"
    assert gateway.verify(new).valid


def test_cached_row_still_checks_the_secret(store_pair: tuple[ApiKeyStore, ApiKeyStore]) -> None:
    gateway, admin = store_pair
    key = admin.create("svc", ["predict"]).plaintext
    assert gateway.verify(key).valid
    forged = key[: len("bsk_") + 12] + "_" + "A" * 43
    assert gateway.verify(forged).reason == "key-wrong"
    assert gateway.verify(key).valid


def test_unreadable_revision_fails_closed(tmp_path: Path) -> None:
    store = ApiKeyStore(f"sqlite:///{tmp_path / 'keys.db'}", table_prefix="gone")
    key = store.create("svc", ["predict"]).plaintext
    assert store.verify(key).valid
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE gone_api_keys_revision"))
    engine.dispose()
    with pytest.raises(ServiceUnavailableError):
        store.verify(key)
    store.close()

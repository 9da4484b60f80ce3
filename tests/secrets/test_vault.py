"""The Vault/OpenBao backend against a real OpenBao dev server (KV v2 at ``secret/``)."""

from __future__ import annotations

import uuid

import hvac
import pytest

from bastion.core.errors import SecretError, ServiceUnavailableError
from bastion.core.settings import load_settings
from bastion.secrets import (
    KeyRing,
    SecretBytes,
    VaultConnection,
    VaultSecretProvider,
    provider_from_settings,
)
from tests.services import OpenBao, free_port

pytestmark = pytest.mark.vault

VALUE = b"\x00vault-secret-hunter2\xff"


class FakeClock:
    """A monotonic clock the test moves by hand, so TTL behaviour needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def unique_path() -> str:
    return f"bastion-test-{uuid.uuid4().hex[:12]}"


def provider(openbao: OpenBao, **kwargs: object) -> VaultSecretProvider:
    connection = VaultConnection(addr=openbao.addr, token=openbao.token, timeout_seconds=5)
    kwargs.setdefault("path", unique_path())
    return VaultSecretProvider(connection, **kwargs)  # type: ignore[arg-type]


def root(openbao: OpenBao) -> hvac.Client:
    return hvac.Client(url=openbao.addr, token=openbao.token)


def test_kv_v2_round_trip(openbao: OpenBao) -> None:
    store = provider(openbao)
    assert store.get_optional("k") is None
    assert not store.exists("k")
    assert store.put("k", VALUE) is True
    value = store.get("k")
    assert value == VALUE and isinstance(value, SecretBytes)
    raw = root(openbao).secrets.kv.v2.read_secret_version(
        path=f"{store.path}/k", mount_point="secret", raise_on_deleted_version=True
    )
    assert raw["data"]["data"]["encoding"] == "base64"
    assert "hunter2" not in str(raw["data"]["data"])  # stored encoded, read back exactly


def test_value_written_by_hand_is_read_as_text(openbao: OpenBao) -> None:
    store = provider(openbao)
    root(openbao).secrets.kv.v2.create_or_update_secret(
        path=f"{store.path}/hand", secret={"value": "typed by an operator"}, mount_point="secret"
    )
    assert store.get("hand") == b"typed by an operator"
    root(openbao).secrets.kv.v2.create_or_update_secret(
        path=f"{store.path}/wrong", secret={"other": "x"}, mount_point="secret"
    )
    with pytest.raises(SecretError, match="'value'"):
        store.get("wrong")


def test_put_never_overwrites_via_check_and_set(openbao: OpenBao) -> None:
    store = provider(openbao)
    assert store.put("k", b"first") is True
    assert store.put("k", b"second") is False
    other = provider(openbao, path=store.path, cache_ttl_seconds=0)
    assert other.put("k", b"third") is False
    assert other.get("k") == b"first"
    assert other.put("k", b"fourth", overwrite=True) is True
    assert other.get("k") == b"fourth"


def test_cache_serves_old_value_until_ttl_then_new(openbao: OpenBao) -> None:
    clock = FakeClock()
    store = provider(openbao, cache_ttl_seconds=30, clock=clock)
    store.put("k", b"one")
    assert store.get("k") == b"one"
    root(openbao).secrets.kv.v2.create_or_update_secret(
        path=f"{store.path}/k", secret={"value": "two"}, mount_point="secret"
    )
    clock.advance(29)
    assert store.get("k") == b"one"  # still cached
    clock.advance(2)
    assert store.get("k") == b"two"  # TTL passed: re-read from Vault
    store.clear_cache()
    assert store.get("k") == b"two"


def test_zero_ttl_disables_cache(openbao: OpenBao) -> None:
    store = provider(openbao, cache_ttl_seconds=0)
    store.put("k", b"one")
    assert store.get("k") == b"one"
    root(openbao).secrets.kv.v2.create_or_update_secret(
        path=f"{store.path}/k", secret={"value": "two"}, mount_point="secret"
    )
    assert store.get("k") == b"two"


def test_deleted_latest_version_is_reported_not_silently_kept(openbao: OpenBao) -> None:
    store = provider(openbao, cache_ttl_seconds=0)
    store.put("k", b"v")
    root(openbao).secrets.kv.v2.delete_latest_version_of_secret(
        path=f"{store.path}/k", mount_point="secret"
    )
    assert store.get_optional("k") is None
    with pytest.raises(SecretError, match="deleted"):
        store.put("k", b"new")


def test_wrong_token_is_a_secret_error_without_the_token(openbao: OpenBao) -> None:
    bad_token = "s.not-the-right-token-hunter2"
    store = VaultSecretProvider(
        VaultConnection(addr=openbao.addr, token=bad_token), path=unique_path()
    )
    for call in (lambda: store.get("k"), lambda: store.put("k", VALUE)):
        with pytest.raises(SecretError) as info:
            call()
        message = str(info.value)
        assert openbao.addr in message and "token" in message
        assert "hunter2" not in message and "hunter2" not in repr(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__


def test_unreachable_vault_is_one_line_naming_the_address() -> None:
    addr = f"http://127.0.0.1:{free_port()}"
    store = VaultSecretProvider(VaultConnection(addr=addr, token="t", timeout_seconds=2))
    with pytest.raises(ServiceUnavailableError) as info:
        store.get("k")
    message = str(info.value)
    assert addr in message and "\n" not in message
    assert info.value.exit_code == 2


def test_from_settings_and_describe_hide_the_token(
    openbao: OpenBao, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = unique_path()
    monkeypatch.setenv("BASTION_SECRETS__BACKEND", "vault")
    monkeypatch.setenv("BASTION_SECRETS__VAULT_ADDR", openbao.addr)
    monkeypatch.setenv("BASTION_SECRETS__VAULT_TOKEN", openbao.token)
    monkeypatch.setenv("BASTION_SECRETS__VAULT_PATH", path)
    monkeypatch.setenv("BASTION_SECRETS__VAULT_CACHE_TTL_SECONDS", "7")
    store = provider_from_settings(load_settings())
    assert isinstance(store, VaultSecretProvider)
    assert store.cache_ttl_seconds == 7
    assert store.put("k", b"v") and store.get("k") == b"v"
    for text in (store.describe(), repr(store), repr(store.connection)):
        assert openbao.token not in text
    assert openbao.addr in store.describe() and path in store.describe()


def test_keyring_on_vault(openbao: OpenBao) -> None:
    ring = KeyRing(provider(openbao))
    first = ring.init()
    assert set(first.values()) == {"created"}
    public_ids = [status.public_key_id for status in ring.status()]
    fresh = KeyRing(provider(openbao, path=ring.provider.path))  # type: ignore[attr-defined]
    assert set(fresh.init().values()) == {"exists"}
    assert [status.public_key_id for status in fresh.status()] == public_ids
    assert len(fresh.pseudonymization_key()) == 32


def test_silent_vault_times_out_with_settings_timeout() -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # accepts connections into the backlog, never answers
        addr = f"http://127.0.0.1:{listener.getsockname()[1]}"
        store = VaultSecretProvider(VaultConnection(addr=addr, token="t", timeout_seconds=0.3))
        with pytest.raises(ServiceUnavailableError, match="did not answer in time") as info:
            store.get("k")
    assert addr in str(info.value) and "vault_timeout_seconds" in str(info.value)

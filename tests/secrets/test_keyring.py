"""KeyRing: the well-known keys, created once, never overwritten, never shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.core.crypto import generate_ed25519_private_pem, key_id, sign, verify
from bastion.core.errors import ConfigError, SecretError
from bastion.core.settings import load_settings
from bastion.secrets import (
    KEY_AUDIT_CHECKPOINT,
    KEY_MODEL_SIGNING,
    KEY_PSEUDONYMIZATION,
    KEY_TOKEN_SIGNING,
    WELL_KNOWN_KEYS,
    EnvSecretProvider,
    FileSecretProvider,
    KeyRing,
    SecretBytes,
    keyring_from_settings,
    provider_from_settings,
)
from bastion.secrets.env import env_var_name

ALL = [KEY_PSEUDONYMIZATION, KEY_AUDIT_CHECKPOINT, KEY_MODEL_SIGNING, KEY_TOKEN_SIGNING]


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing(FileSecretProvider(tmp_path / "secrets"))


def stored(ring: KeyRing) -> dict[str, bytes]:
    return {name: bytes(ring.provider.get(name)) for name in ALL}


def test_well_known_names() -> None:
    assert [spec.name for spec in WELL_KNOWN_KEYS] == [
        "pseudonymization",
        "audit-checkpoint",
        "model-signing",
        "token-signing",
    ]


def test_init_creates_then_never_overwrites(ring: KeyRing) -> None:
    assert ring.init() == dict.fromkeys(ALL, "created")
    before = stored(ring)
    assert ring.init() == dict.fromkeys(ALL, "exists")
    assert stored(ring) == before


def test_init_fills_only_the_gaps(ring: KeyRing) -> None:
    own_pem = generate_ed25519_private_pem()
    ring.provider.put(KEY_MODEL_SIGNING, own_pem)
    results = ring.init()
    assert results[KEY_MODEL_SIGNING] == "exists"
    assert {results[name] for name in ALL if name != KEY_MODEL_SIGNING} == {"created"}
    assert ring.provider.get(KEY_MODEL_SIGNING) == own_pem


def test_key_material_shapes(ring: KeyRing) -> None:
    ring.init()
    pseudo = ring.pseudonymization_key()
    assert len(pseudo) == 32 and isinstance(pseudo, SecretBytes)
    assert "<secret" in repr(pseudo)
    keys = [ring.audit_checkpoint_key(), ring.model_signing_key(), ring.token_signing_key()]
    assert all(isinstance(key, Ed25519PrivateKey) for key in keys)
    assert len({key_id(key.public_key()) for key in keys}) == 3
    signature = sign(keys[0], b"checkpoint")
    assert verify(ring.public_key(KEY_AUDIT_CHECKPOINT), signature, b"checkpoint")
    assert ring.provider.get(KEY_AUDIT_CHECKPOINT).startswith(b"-----BEGIN PRIVATE KEY-----")


def test_two_rings_on_one_backend_agree(tmp_path: Path) -> None:
    first = KeyRing(FileSecretProvider(tmp_path / "s"))
    first.init()
    second = KeyRing(FileSecretProvider(tmp_path / "s"))
    assert second.pseudonymization_key() == first.pseudonymization_key()
    assert key_id(second.token_signing_key().public_key()) == key_id(
        first.token_signing_key().public_key()
    )


def test_missing_key_says_how_to_fix(ring: KeyRing) -> None:
    with pytest.raises(SecretError) as info:
        ring.audit_checkpoint_key()
    message = str(info.value)
    assert "key 'audit-checkpoint' is not initialised" in message
    assert "run `bastion keys init`" in message
    with pytest.raises(SecretError, match="'pseudonymization' is not initialised"):
        ring.pseudonymization_key()


def test_malformed_keys_are_refused_without_echo(ring: KeyRing) -> None:
    ring.provider.put(KEY_TOKEN_SIGNING, b"-----BEGIN PRIVATE KEY-----\nhunter2\n")
    ring.provider.put(KEY_PSEUDONYMIZATION, b"short-hunter2")
    with pytest.raises(SecretError, match="'token-signing'") as info:
        ring.token_signing_key()
    assert "hunter2" not in str(info.value)
    with pytest.raises(SecretError, match="at least 32") as info:
        ring.pseudonymization_key()
    assert "hunter2" not in str(info.value)


def test_status_reports_presence_ids_and_problems_never_material(ring: KeyRing) -> None:
    assert [(s.name, s.present) for s in ring.status()] == [(n, False) for n in ALL]
    ring.init()
    statuses = {s.name: s for s in ring.status()}
    assert all(s.present and s.problem is None for s in statuses.values())
    assert statuses[KEY_PSEUDONYMIZATION].public_key_id is None
    assert statuses[KEY_MODEL_SIGNING].public_key_id == key_id(
        ring.model_signing_key().public_key()
    )
    text = repr(list(statuses.values()))
    for value in stored(ring).values():
        assert value.decode("latin-1") not in text
        assert value.hex() not in text
    os.chmod(ring.provider.directory / KEY_MODEL_SIGNING, 0o644)  # type: ignore[attr-defined]
    broken = {s.name: s for s in ring.status()}[KEY_MODEL_SIGNING]
    assert broken.problem is not None and "chmod 600" in broken.problem


def test_env_keyring_reads_but_cannot_create() -> None:
    pem = generate_ed25519_private_pem()
    environ = {env_var_name("BASTION_SECRET_", name): pem.decode() for name in ALL[1:]}
    environ[env_var_name("BASTION_SECRET_", KEY_PSEUDONYMIZATION)] = "base64:" + "A" * 44
    ring = KeyRing(EnvSecretProvider(environ=environ))
    assert ring.init() == dict.fromkeys(ALL, "exists")
    assert len(ring.pseudonymization_key()) == 33
    del environ["BASTION_SECRET_TOKEN_SIGNING"]
    with pytest.raises(SecretError, match="read-only"):
        ring.init()


def test_factories_follow_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(home=tmp_path / "home")
    provider = provider_from_settings(settings)
    assert isinstance(provider, FileSecretProvider)
    assert provider.directory == tmp_path / "home" / "secrets"
    custom = load_settings(secrets={"backend": "file", "file_dir": str(tmp_path / "elsewhere")})
    ring = keyring_from_settings(custom)
    ring.init()
    assert (tmp_path / "elsewhere" / KEY_MODEL_SIGNING).is_file()

    monkeypatch.setenv("BASTION_SECRETS__BACKEND", "env")
    monkeypatch.setenv("BASTION_SECRET_MODEL_SIGNING", "x")
    assert isinstance(provider_from_settings(load_settings()), EnvSecretProvider)
    assert keyring_from_settings(load_settings()).provider.exists(KEY_MODEL_SIGNING)

    monkeypatch.setenv("BASTION_SECRETS__BACKEND", "vault")
    for variable in ("VAULT_TOKEN", "BAO_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ConfigError, match="vault_token"):
        provider_from_settings(load_settings())
    monkeypatch.setenv("BASTION_SECRETS__VAULT_TOKEN", "t")
    monkeypatch.setenv("BASTION_SECRETS__VAULT_ADDR", "127.0.0.1:8200")
    with pytest.raises(ConfigError, match="http"):
        provider_from_settings(load_settings())

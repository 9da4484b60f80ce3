"""Transit encrypt/decrypt/sign/verify against a real OpenBao dev server."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import hvac
import pytest

from bastion.core.crypto import verify as verify_offline
from bastion.core.errors import ConfigError, IntegrityError, SecretError
from bastion.core.settings import load_settings
from bastion.secrets import TransitClient, VaultConnection, split_signature, transit_from_settings
from tests.services import OpenBao

pytestmark = pytest.mark.vault


@dataclass(frozen=True)
class TransitSetup:
    openbao: OpenBao
    mount: str


@pytest.fixture(scope="module")
def transit(openbao: OpenBao) -> Iterator[TransitSetup]:
    """A fresh Transit mount with an AES key 'enc' and an Ed25519 key 'sig'."""
    mount = f"transit-{uuid.uuid4().hex[:8]}"
    admin = hvac.Client(url=openbao.addr, token=openbao.token)
    admin.sys.enable_secrets_engine("transit", path=mount)
    admin.secrets.transit.create_key("enc", mount_point=mount)
    admin.secrets.transit.create_key("sig", key_type="ed25519", mount_point=mount)
    yield TransitSetup(openbao, mount)
    admin.sys.disable_secrets_engine(path=mount)


def client(setup: TransitSetup, **overrides: str | None) -> TransitClient:
    keys: dict[str, str | None] = {"encryption_key": "enc", "signing_key": "sig", **overrides}
    return TransitClient(
        VaultConnection(addr=setup.openbao.addr, token=setup.openbao.token),
        mount=setup.mount,
        **keys,
    )


def test_encrypt_decrypt_round_trip(transit: TransitSetup) -> None:
    tc = client(transit)
    plaintext = b"patient 4711: hunter2 \x00\xff"
    ciphertext = tc.encrypt(plaintext)
    assert ciphertext.startswith("vault:v1:")
    assert "hunter2" not in ciphertext
    assert base64.b64encode(plaintext).decode() not in ciphertext
    assert tc.decrypt(ciphertext) == plaintext
    assert tc.encrypt(plaintext) != ciphertext  # fresh nonce each time


def test_tampered_ciphertext_is_an_integrity_error(transit: TransitSetup) -> None:
    tc = client(transit)
    prefix, body = tc.encrypt(b"payload").rsplit(":", 1)
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 0x01
    with pytest.raises(IntegrityError, match="tampered"):
        tc.decrypt(f"{prefix}:{base64.b64encode(bytes(raw)).decode()}")


def test_sign_verify_and_offline_verification(transit: TransitSetup) -> None:
    tc = client(transit)
    message = b"model digest sha256:abc"
    signature = tc.sign(message)
    assert tc.verify(message, signature)
    assert not tc.verify(b"model digest sha256:abd", signature)
    assert not tc.verify(message, "garbage")
    version, raw = split_signature(signature)
    assert version == 1 and len(raw) == 64
    assert verify_offline(tc.public_key(), raw, message)
    assert not verify_offline(tc.public_key(), raw, message + b"!")


def test_split_signature_rejects_non_transit_text() -> None:
    for text in ("", "vault:x1:AAAA", "other:v1:AAAA", "vault:v1:not base64!"):
        with pytest.raises(IntegrityError):
            split_signature(text)


def test_missing_or_wrong_kind_of_key(transit: TransitSetup) -> None:
    with pytest.raises(SecretError, match=r"keys/nope not found .*bao write"):
        client(transit, signing_key="nope").sign(b"m")
    with pytest.raises(SecretError, match=r"keys/nope not found"):
        client(transit, encryption_key="nope").decrypt("vault:v1:AAAA")
    with pytest.raises(SecretError, match="does not support signing"):
        client(transit, signing_key="enc").sign(b"m")
    with pytest.raises(SecretError, match="not an ed25519 key"):
        client(transit, signing_key="enc").public_key()
    with pytest.raises(ConfigError, match="transit_key"):
        client(transit, encryption_key=None).encrypt(b"m")
    with pytest.raises(ConfigError, match="transit_signing_key"):
        client(transit, signing_key=None).sign(b"m")


def test_wrong_token_is_refused_without_leaking(transit: TransitSetup) -> None:
    tc = TransitClient(
        VaultConnection(addr=transit.openbao.addr, token="bad-token-hunter2"),
        mount=transit.mount,
        encryption_key="enc",
    )
    with pytest.raises(SecretError, match="denied") as info:
        tc.encrypt(b"plaintext-hunter3")
    assert "hunter2" not in str(info.value) and "hunter3" not in str(info.value)
    assert "hunter2" not in repr(tc)


def test_transit_from_settings(transit: TransitSetup, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="transit_mount"):
        transit_from_settings(load_settings())
    monkeypatch.setenv("BASTION_SECRETS__VAULT_ADDR", transit.openbao.addr)
    monkeypatch.setenv("BASTION_SECRETS__VAULT_TOKEN", transit.openbao.token)
    monkeypatch.setenv("BASTION_SECRETS__TRANSIT_MOUNT", transit.mount)
    monkeypatch.setenv("BASTION_SECRETS__TRANSIT_KEY", "enc")
    monkeypatch.setenv("BASTION_SECRETS__TRANSIT_SIGNING_KEY", "sig")
    tc = transit_from_settings(load_settings())
    assert tc.decrypt(tc.encrypt(b"x")) == b"x"
    assert tc.verify(b"x", tc.sign(b"x"))

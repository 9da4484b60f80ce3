"""Model store integrity: tampered, foreign-signed, unsigned and unsafe-type models are refused."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import hvac
import numpy as np
import pytest
import skops.io as sio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer

from bastion.core import crypto
from bastion.core.errors import IntegrityError
from bastion.core.settings import load_settings
from bastion.pipeline import (
    Ed25519Signer,
    TrustStore,
    load_model,
    save_model,
    signer_from_settings,
    trust_store_from_settings,
    verify_model,
)
from bastion.pipeline.signing import SignatureEnvelope, sign_model
from bastion.pipeline.store import LINEAGE_FILE, SIGNATURE_FILE, canonical_json
from tests.pipeline.helpers import run_cli
from tests.services import OpenBao

LINEAGE = {"schema": "bastion.lineage.v1", "run_id": "r1", "principal": "bob"}


def _model() -> LogisticRegression:
    x = np.arange(40, dtype=float).reshape(20, 2)
    return LogisticRegression().fit(x, np.arange(20) % 2)


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, TrustStore, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    bundle = save_model(_model(), tmp_path / "m" / "r1", lineage=LINEAGE, signer=Ed25519Signer(key))
    trust = TrustStore()
    trust.add_public_key(key.public_key())
    return bundle.directory, trust, key


def test_round_trip(signed: tuple[Path, TrustStore, Ed25519PrivateKey]) -> None:
    directory, trust, _ = signed
    verified = verify_model(directory, trust)
    assert (
        verified.lineage is not None
        and verified.lineage["model"]["sha256"] == verified.model_sha256
    )
    assert hasattr(load_model(directory / "model.skops", trust), "predict")


@pytest.mark.parametrize("position", [0, 100, -1])
def test_flipped_byte_is_refused(
    signed: tuple[Path, TrustStore, Ed25519PrivateKey], position: int
) -> None:
    directory, trust, _ = signed
    path = directory / "model.skops"
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="tampered"):
        load_model(directory, trust)


def test_resigned_by_unknown_key_is_refused(
    signed: tuple[Path, TrustStore, Ed25519PrivateKey],
) -> None:
    directory, trust, _ = signed
    attacker = Ed25519PrivateKey.generate()
    path = directory / "model.skops"
    path.write_bytes(path.read_bytes() + b"\x00")  # an altered model, re-signed consistently
    lineage_sha = crypto.sha256_hex((directory / LINEAGE_FILE).read_bytes())
    envelope = sign_model(
        Ed25519Signer(attacker), crypto.sha256_hex(path.read_bytes()), lineage_sha
    )
    (directory / SIGNATURE_FILE).write_bytes(envelope.to_json())
    with pytest.raises(IntegrityError, match="unknown key"):
        verify_model(directory, trust)


def test_forged_key_id_is_refused(signed: tuple[Path, TrustStore, Ed25519PrivateKey]) -> None:
    directory, trust, _ = signed
    sig_path = directory / SIGNATURE_FILE
    body = json.loads(sig_path.read_bytes())
    attacker = Ed25519PrivateKey.generate()
    message = (
        f"bastion.model-signature.v1\n{body['model_sha256']}\n{body['lineage_sha256']}".encode()
    )
    body["signature"] = crypto.b64encode(attacker.sign(message))  # claims the trusted key id
    sig_path.write_text(json.dumps(body))
    with pytest.raises(IntegrityError, match="signature does not match"):
        verify_model(directory, trust)


def test_unsigned_and_lineage_tampering(signed: tuple[Path, TrustStore, Ed25519PrivateKey]) -> None:
    directory, trust, _ = signed
    lineage = json.loads((directory / LINEAGE_FILE).read_text())
    lineage["principal"] = "mallory"
    (directory / LINEAGE_FILE).write_bytes(canonical_json(lineage))
    with pytest.raises(IntegrityError, match="lineage record does not match"):
        verify_model(directory, trust)
    (directory / SIGNATURE_FILE).unlink()
    with pytest.raises(IntegrityError, match="unsigned"):
        load_model(directory, trust)


def test_untrusted_type_is_refused_even_when_signed(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    trust = TrustStore()
    trust.add_public_key(key.public_key())
    directory = tmp_path / "evil"
    directory.mkdir()
    data = sio.dumps(FunctionTransformer(func=shutil.rmtree))  # a callable we never allow
    (directory / "model.skops").write_bytes(data)
    lineage = dict(LINEAGE, model={"sha256": crypto.sha256_hex(data)})
    lineage_bytes = canonical_json(lineage)
    (directory / LINEAGE_FILE).write_bytes(lineage_bytes)
    envelope = sign_model(
        Ed25519Signer(key), crypto.sha256_hex(data), crypto.sha256_hex(lineage_bytes)
    )
    (directory / SIGNATURE_FILE).write_bytes(envelope.to_json())
    with pytest.raises(IntegrityError, match=r"outside the allow-list: shutil\.rmtree"):
        load_model(directory, trust)
    with pytest.raises(IntegrityError, match="outside the allow-list"):
        save_model(
            FunctionTransformer(func=shutil.rmtree),
            tmp_path / "x",
            lineage=LINEAGE,
            signer=Ed25519Signer(key),
        )
    assert not (tmp_path / "x").exists()


def test_cli_verify_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(home=tmp_path / ".bastion")
    from bastion.secrets import keyring_from_settings

    keyring_from_settings(settings).init()
    bundle = save_model(
        _model(), tmp_path / "b", lineage=LINEAGE, signer=signer_from_settings(settings)
    )
    assert run_cli(capsys, "model", "verify", str(bundle.directory)).exit_code == 0
    path = bundle.model_path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    result = run_cli(capsys, "model", "verify", str(bundle.directory))
    assert result.exit_code == 1 and "tampered" in result.err
    with pytest.raises(IntegrityError):
        load_model(bundle.directory, trust_store_from_settings(settings))


def test_trusted_keys_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = Ed25519PrivateKey.generate()
    bundle = save_model(_model(), tmp_path / "b", lineage=LINEAGE, signer=Ed25519Signer(other))
    assert run_cli(capsys, "model", "verify", str(bundle.directory)).exit_code == 1
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "partner.pem").write_bytes(crypto.public_pem(other))
    result = run_cli(capsys, "model", "verify", str(bundle.directory), "--trusted-keys", str(keys))
    assert result.exit_code == 0, result.err


@pytest.mark.vault
def test_transit_signing(tmp_path: Path, openbao: OpenBao) -> None:
    mount = f"transit-{uuid.uuid4().hex[:8]}"
    admin = hvac.Client(url=openbao.addr, token=openbao.token)
    admin.sys.enable_secrets_engine("transit", path=mount)
    admin.secrets.transit.create_key("models", key_type="ed25519", mount_point=mount)
    try:
        settings = load_settings(
            home=tmp_path / ".bastion",
            secrets={
                "vault_addr": openbao.addr,
                "vault_token": openbao.token,
                "transit_mount": mount,
                "transit_signing_key": "models",
            },
        )
        bundle = save_model(
            _model(), tmp_path / "t", lineage=LINEAGE, signer=signer_from_settings(settings)
        )
        envelope = SignatureEnvelope.from_json(
            (bundle.directory / SIGNATURE_FILE).read_bytes(), "sig"
        )
        assert envelope.algorithm == "transit" and envelope.signature.startswith("vault:v1:")
        trust = trust_store_from_settings(settings)
        assert hasattr(load_model(bundle.directory, trust), "predict")
        path = bundle.model_path
        (bundle.directory / LINEAGE_FILE).write_bytes(b"{}")
        with pytest.raises(IntegrityError):
            load_model(bundle.directory, trust)
        assert path.exists()
    finally:
        admin.sys.disable_secrets_engine(path=mount)

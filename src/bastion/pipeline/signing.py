"""Model signatures: who vouches for a model file and its lineage record.

The signed message binds the model bytes to the lineage record::

    "bastion.model-signature.v1\\n" + model_sha256 + "\\n" + lineage_sha256

Signatures are Ed25519 (``cryptography``) by a key from ``bastion.secrets``, or
made by Vault/OpenBao Transit when a transit key is configured.  Verification
trusts only keys it was given: the configured signing key's public half and the
PEM files of a trusted-keys directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from bastion.core import crypto
from bastion.core.errors import IntegrityError

SIGNATURE_FORMAT = "bastion.model-signature.v1"
ED25519 = "ed25519"
TRANSIT = "transit"


def signed_message(model_sha256: str, lineage_sha256: str) -> bytes:
    """The exact bytes a model signature covers."""
    return f"{SIGNATURE_FORMAT}\n{model_sha256}\n{lineage_sha256}".encode("ascii")


class TransitLike(Protocol):
    """The part of ``bastion.secrets.TransitClient`` model signing uses."""

    def sign(self, data: bytes) -> str: ...

    def verify(self, data: bytes, signature: str) -> bool: ...


class ModelSigner(Protocol):
    """Produces a signature envelope field set for a message."""

    @property
    def algorithm(self) -> str: ...

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> str: ...


@dataclass(frozen=True)
class Ed25519Signer:
    """Local Ed25519 signing with a key held by ``bastion.secrets``."""

    private_key: Ed25519PrivateKey = field(repr=False)
    algorithm: str = ED25519

    @property
    def key_id(self) -> str:
        return crypto.key_id(self.private_key.public_key())

    def sign(self, message: bytes) -> str:
        return crypto.b64encode(crypto.sign(self.private_key, message))


@dataclass(frozen=True)
class TransitSigner:
    """Signing by Vault/OpenBao Transit: the private key never leaves the server."""

    client: TransitLike = field(repr=False)
    key_name: str
    algorithm: str = TRANSIT

    @property
    def key_id(self) -> str:
        return f"transit:{self.key_name}"

    def sign(self, message: bytes) -> str:
        return self.client.sign(message)


@dataclass(frozen=True)
class SignatureEnvelope:
    """The contents of ``<model>.sig``."""

    algorithm: str
    key_id: str
    model_sha256: str
    lineage_sha256: str
    signature: str

    def to_json(self) -> bytes:
        body = {
            "format": SIGNATURE_FORMAT,
            "algorithm": self.algorithm,
            "key_id": self.key_id,
            "model_sha256": self.model_sha256,
            "lineage_sha256": self.lineage_sha256,
            "signature": self.signature,
        }
        return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes, source: str) -> SignatureEnvelope:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise IntegrityError(f"{source}: signature file is not valid JSON") from None
        if not isinstance(body, dict) or body.get("format") != SIGNATURE_FORMAT:
            raise IntegrityError(f"{source}: not a {SIGNATURE_FORMAT} signature file")
        fields = ("algorithm", "key_id", "model_sha256", "lineage_sha256", "signature")
        if not all(isinstance(body.get(name), str) for name in fields):
            raise IntegrityError(f"{source}: signature file is missing fields")
        return cls(**{name: body[name] for name in fields})


def sign_model(signer: ModelSigner, model_sha256: str, lineage_sha256: str) -> SignatureEnvelope:
    """Sign the model and lineage digests."""
    message = signed_message(model_sha256, lineage_sha256)
    return SignatureEnvelope(
        algorithm=signer.algorithm,
        key_id=signer.key_id,
        model_sha256=model_sha256,
        lineage_sha256=lineage_sha256,
        signature=signer.sign(message),
    )


@dataclass
class TrustStore:
    """The public keys (and optional Transit key) whose model signatures we accept."""

    public_keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    transit: TransitLike | None = None
    transit_key_id: str | None = None

    def add_public_key(self, key: Ed25519PublicKey) -> str:
        """Trust ``key``; returns its key id."""
        identifier = crypto.key_id(key)
        self.public_keys[identifier] = key
        return identifier

    def add_directory(self, directory: Path) -> None:
        """Trust every ``*.pem`` public key in ``directory`` (missing directory: nothing)."""
        if not directory.is_dir():
            return
        for pem in sorted(directory.glob("*.pem")):
            try:
                self.add_public_key(crypto.load_ed25519_public(pem.read_bytes()))
            except IntegrityError as exc:
                raise IntegrityError(f"{pem}: {exc}") from None

    def verify(self, envelope: SignatureEnvelope, source: str) -> None:
        """Raise ``IntegrityError`` unless a trusted key made this signature."""
        message = signed_message(envelope.model_sha256, envelope.lineage_sha256)
        if envelope.algorithm == ED25519:
            key = self.public_keys.get(envelope.key_id)
            if key is None:
                raise IntegrityError(
                    f"{source}: signed by unknown key {envelope.key_id}; "
                    "add its public key to the trusted-keys directory only if you trust it"
                )
            try:
                signature = crypto.b64decode(envelope.signature)
            except (ValueError, UnicodeEncodeError):
                raise IntegrityError(f"{source}: signature is not base64") from None
            if not crypto.verify(key, signature, message):
                raise IntegrityError(f"{source}: signature does not match (tampered or re-signed)")
            return
        if envelope.algorithm == TRANSIT:
            if self.transit is None or envelope.key_id != self.transit_key_id:
                raise IntegrityError(
                    f"{source}: signed by Transit key {envelope.key_id}, which is not configured"
                )
            if not self.transit.verify(message, envelope.signature):
                raise IntegrityError(f"{source}: Transit signature does not match")
            return
        raise IntegrityError(f"{source}: unknown signature algorithm {envelope.algorithm!r}")


def describe(envelope: SignatureEnvelope) -> dict[str, Any]:
    """Fields safe to print or audit about a signature."""
    return {"algorithm": envelope.algorithm, "key_id": envelope.key_id}

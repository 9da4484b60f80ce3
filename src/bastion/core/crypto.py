"""Safe, high-level crypto primitives used across Bastion.

Callers get digests, keyed hashes, Ed25519 signatures and AES-GCM sealing with
one obvious way to use each; the hazardous parts (nonces, key formats) stay here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.core.errors import IntegrityError, SecretError

AEAD_NONCE_BYTES = 12


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """Keyed HMAC-SHA256; the key never leaves the caller."""
    return hmac.new(key, data, hashlib.sha256).digest()


def constant_time_equal(left: bytes | str, right: bytes | str) -> bool:
    """Compare secrets without leaking where they differ through timing."""
    left_bytes = left.encode() if isinstance(left, str) else left
    right_bytes = right.encode() if isinstance(right, str) else right
    return hmac.compare_digest(left_bytes, right_bytes)


def random_bytes(count: int) -> bytes:
    """Cryptographically secure random bytes."""
    return os.urandom(count)


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding, for keys and signatures in text files."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Inverse of :func:`b64encode`; tolerant of missing padding."""
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def generate_ed25519_private_pem() -> bytes:
    """A fresh Ed25519 private key as unencrypted PKCS#8 PEM (stored only through ``secrets``)."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_ed25519_private(pem: bytes) -> Ed25519PrivateKey:
    """Load an Ed25519 private key, failing with a message that does not echo the key."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SecretError("signing key is not a valid PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SecretError("signing key must be an Ed25519 private key")
    return key


def public_pem(private_key: Ed25519PrivateKey) -> bytes:
    """The SubjectPublicKeyInfo PEM of a private key, safe to publish."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_ed25519_public(pem: bytes) -> Ed25519PublicKey:
    """Load an Ed25519 public key from PEM."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise IntegrityError("public key is not valid PEM") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise IntegrityError("public key must be Ed25519")
    return key


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable identifier of a public key (first 16 hex of SHA-256 of its raw bytes)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256_hex(raw)[:16]


def sign(private_key: Ed25519PrivateKey, message: bytes) -> bytes:
    """Ed25519 signature over ``message``."""
    return private_key.sign(message)


def verify(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message``."""
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def aead_seal(key: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """AES-256-GCM encrypt; returns nonce || ciphertext+tag."""
    if len(key) not in (16, 24, 32):
        raise SecretError("AES-GCM keys are 16, 24 or 32 bytes")
    nonce = os.urandom(AEAD_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data or None)


def aead_open(key: bytes, sealed: bytes, associated_data: bytes = b"") -> bytes:
    """Inverse of :func:`aead_seal`; raises ``IntegrityError`` on any tampering or wrong key."""
    if len(sealed) < AEAD_NONCE_BYTES + 16:
        raise IntegrityError("ciphertext is too short to be AES-GCM output")
    nonce, body = sealed[:AEAD_NONCE_BYTES], sealed[AEAD_NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, body, associated_data or None)
    except InvalidTag as exc:
        raise IntegrityError("ciphertext failed authentication (wrong key or tampered)") from exc

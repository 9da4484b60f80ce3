"""Per-purpose keys derived from one master key, so no two operators share key material.

Callers pass raw ``bytes`` (the CLI fetches them from ``bastion.secrets``); the
library never reads a key from the environment or a default.  Each operator gets
its own sub-key ``HMAC(master, label)``: a pseudonym never reveals a surrogate
seed or a date offset, and vice versa.
"""

from __future__ import annotations

from bastion.core.crypto import hmac_sha256
from bastion.core.errors import SecretError

MIN_KEY_BYTES = 32
_LABEL_PREFIX = b"bastion.privacy.transform/"


class TransformKeys:
    """Sub-keys for the keyed operators; the master key itself is not kept."""

    __slots__ = ("_date_shift", "_encrypt", "_encrypt_nonce", "_pseudonym", "_surrogate")

    def __init__(self, master: bytes, *, encryption_key: bytes | None = None) -> None:
        check_key(master, "pseudonymization key")
        self._pseudonym = _derive(master, b"pseudonym")
        self._surrogate = _derive(master, b"surrogate")
        self._date_shift = _derive(master, b"date-shift")
        if encryption_key is not None:
            check_key(encryption_key, "encryption key")
            self._encrypt = bytes(encryption_key[:32])
        else:
            self._encrypt = _derive(master, b"encrypt")
        self._encrypt_nonce = _derive(self._encrypt, b"encrypt-nonce")

    @property
    def pseudonym(self) -> bytes:
        """HMAC key of the ``pseudonymize`` operator and ``HmacPseudonymizer``."""
        return self._pseudonym

    @property
    def surrogate(self) -> bytes:
        """Seeds the Faker surrogates."""
        return self._surrogate

    @property
    def date_shift(self) -> bytes:
        """Derives each person's date offset."""
        return self._date_shift

    @property
    def encrypt(self) -> bytes:
        """AES-256-GCM key of the ``encrypt`` operator."""
        return self._encrypt

    @property
    def encrypt_nonce(self) -> bytes:
        """Derives synthetic nonces for deterministic encryption."""
        return self._encrypt_nonce

    def __repr__(self) -> str:
        return "TransformKeys(***)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("TransformKeys are not serializable; pass the key bytes explicitly")


def check_key(key: object, what: str) -> bytes:
    """Refuse anything that is not at least 32 bytes of key material."""
    if not isinstance(key, bytes | bytearray):
        raise SecretError(f"{what} must be bytes, not {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise SecretError(f"{what} must be at least {MIN_KEY_BYTES} bytes (got {len(key)})")
    return bytes(key)


def _derive(master: bytes, label: bytes) -> bytes:
    return hmac_sha256(master, _LABEL_PREFIX + label)

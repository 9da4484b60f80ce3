"""The keys Bastion itself uses, by well-known name, created once and never overwritten."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bastion.core.crypto import (
    generate_ed25519_private_pem,
    key_id,
    load_ed25519_private,
    random_bytes,
)
from bastion.core.errors import BastionError, SecretError, ServiceUnavailableError
from bastion.secrets.base import SecretProvider
from bastion.secrets.values import SecretBytes, check_secret_name

KEY_PSEUDONYMIZATION = "pseudonymization"
KEY_AUDIT_CHECKPOINT = "audit-checkpoint"
KEY_MODEL_SIGNING = "model-signing"
KEY_TOKEN_SIGNING = "token-signing"  # noqa: S105 - a key name, not a key

PSEUDONYMIZATION_KEY_BYTES = 32

KeyKind = Literal["symmetric", "ed25519"]


@dataclass(frozen=True)
class KeySpec:
    """A key Bastion needs: its name, kind and what it protects."""

    name: str
    kind: KeyKind
    purpose: str


WELL_KNOWN_KEYS: tuple[KeySpec, ...] = (
    KeySpec(KEY_PSEUDONYMIZATION, "symmetric", "keyed pseudonyms of identifiers (HMAC)"),
    KeySpec(KEY_AUDIT_CHECKPOINT, "ed25519", "signs audit-log checkpoints"),
    KeySpec(KEY_MODEL_SIGNING, "ed25519", "signs stored models"),
    KeySpec(KEY_TOKEN_SIGNING, "ed25519", "signs gateway access tokens"),
)
SIGNING_KEY_NAMES = frozenset(spec.name for spec in WELL_KNOWN_KEYS if spec.kind == "ed25519")

InitResult = Literal["created", "exists"]


@dataclass(frozen=True)
class KeyStatus:
    """What can be said about a key without revealing it."""

    name: str
    kind: KeyKind
    purpose: str
    present: bool
    public_key_id: str | None = None
    problem: str | None = None


class KeyRing:
    """Bastion's own keys in one :class:`SecretProvider`."""

    def __init__(self, provider: SecretProvider) -> None:
        self.provider = provider

    def __repr__(self) -> str:
        return f"<KeyRing {self.provider.describe()}>"

    def describe(self) -> str:
        """Where the keys live."""
        return self.provider.describe()

    # Creation and inspection -------------------------------------------------------
    @staticmethod
    def _fresh(spec: KeySpec) -> bytes:
        if spec.kind == "symmetric":
            return random_bytes(PSEUDONYMIZATION_KEY_BYTES)
        return generate_ed25519_private_pem()

    def init(self) -> dict[str, InitResult]:
        """Create every missing well-known key; existing ones are left exactly as they are."""
        results: dict[str, InitResult] = {}
        for spec in WELL_KNOWN_KEYS:
            if self.provider.exists(spec.name):
                results[spec.name] = "exists"
                continue
            written = self.provider.put(spec.name, self._fresh(spec), overwrite=False)
            results[spec.name] = "created" if written else "exists"
        return results

    def status(self) -> list[KeyStatus]:
        """Presence and public key ids of every well-known key.

        Per-key problems (insecure file, malformed key, no permission) are reported in
        the result; an unreachable backend raises ``ServiceUnavailableError``.
        """
        report = []
        for spec in WELL_KNOWN_KEYS:
            present = False
            try:
                present = self.provider.exists(spec.name)
                key_ident = None
                if present and spec.kind == "ed25519":
                    key_ident = key_id(self.public_key(spec.name))
                elif present:
                    self.pseudonymization_key()
                report.append(KeyStatus(spec.name, spec.kind, spec.purpose, present, key_ident))
            except ServiceUnavailableError:
                raise
            except BastionError as exc:
                report.append(
                    KeyStatus(spec.name, spec.kind, spec.purpose, present, problem=exc.message)
                )
        return report

    # Access --------------------------------------------------------------------------
    def _require(self, name: str) -> bytes:
        value = self.provider.get_optional(name)
        if value is None:
            raise SecretError(
                f"key {name!r} is not initialised in {self.provider.describe()}; "
                "run `bastion keys init`"
            )
        return value

    def pseudonymization_key(self) -> bytes:
        """The HMAC key for pseudonyms (at least 32 bytes)."""
        value = self._require(KEY_PSEUDONYMIZATION)
        if len(value) < PSEUDONYMIZATION_KEY_BYTES:
            raise SecretError(
                f"key {KEY_PSEUDONYMIZATION!r} is {len(value)} bytes; it must be at least "
                f"{PSEUDONYMIZATION_KEY_BYTES} random bytes"
            )
        return SecretBytes(value)

    def signing_key(self, name: str) -> Ed25519PrivateKey:
        """The Ed25519 private key stored under ``name``."""
        check_secret_name(name)
        try:
            return load_ed25519_private(self._require(name))
        except SecretError as exc:
            if "not initialised" in exc.message:
                raise
            raise SecretError(f"key {name!r}: {exc.message}") from None

    def public_key(self, name: str) -> Ed25519PublicKey:
        """The public half of signing key ``name``, safe to publish."""
        return self.signing_key(name).public_key()

    def audit_checkpoint_key(self) -> Ed25519PrivateKey:
        """Signs audit-log checkpoints."""
        return self.signing_key(KEY_AUDIT_CHECKPOINT)

    def model_signing_key(self) -> Ed25519PrivateKey:
        """Signs stored models."""
        return self.signing_key(KEY_MODEL_SIGNING)

    def token_signing_key(self) -> Ed25519PrivateKey:
        """Signs gateway access tokens."""
        return self.signing_key(KEY_TOKEN_SIGNING)

"""Vault/OpenBao Transit: encryption and Ed25519 signatures with keys that never leave Vault."""

from __future__ import annotations

import base64
import binascii

import hvac
import hvac.exceptions
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bastion.core.errors import ConfigError, IntegrityError, SecretError
from bastion.core.settings import Settings
from bastion.secrets._vault_client import VaultConnection, first_error, vault_errors

_SIGNATURE_PREFIX = "vault:v"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def split_signature(signature: str) -> tuple[int, bytes]:
    """``vault:v3:<base64>`` → ``(3, raw signature bytes)``, for offline verification."""
    try:
        prefix, version, encoded = signature.split(":", 2)
        if prefix != "vault" or not version.startswith("v"):
            raise ValueError(signature)
        return int(version[1:]), base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise IntegrityError("not a Transit signature (expected 'vault:v<N>:<base64>')") from None


class TransitClient:
    """Encrypt/decrypt with ``encryption_key`` and sign/verify with ``signing_key`` (Ed25519).

    Both keys live in the Transit engine at ``mount``; Bastion only ever sees
    ciphertexts, signatures and public keys.
    """

    def __init__(
        self,
        connection: VaultConnection,
        *,
        mount: str = "transit",
        encryption_key: str | None = None,
        signing_key: str | None = None,
    ) -> None:
        self.connection = connection
        self.mount = mount.strip("/")
        self.encryption_key = encryption_key
        self.signing_key = signing_key
        self._client: hvac.Client = connection.client()

    def __repr__(self) -> str:
        return (
            f"<TransitClient {self.connection.addr} mount={self.mount!r} "
            f"encryption_key={self.encryption_key!r} signing_key={self.signing_key!r}>"
        )

    def _key(self, key: str | None, role: str) -> str:
        if not key:
            setting = "transit_key" if role == "encryption" else "transit_signing_key"
            raise ConfigError(f"no Transit {role} key configured: set secrets.{setting}")
        return key

    def _post(self, what: str, key: str, method_name: str, **kwargs: object) -> dict[str, object]:
        where = f"{self.mount}/keys/{key}"
        method = getattr(self._client.secrets.transit, method_name)
        try:
            with vault_errors(self.connection.addr, f"{what} with Transit key {where}"):
                response = method(name=key, mount_point=self.mount, **kwargs)
        except hvac.exceptions.InvalidPath:
            raise SecretError(
                f"Transit key {where} not found at {self.connection.addr}; create it with "
                f"`bao write -f {self.mount}/keys/{key}` (add type=ed25519 for signing)"
            ) from None
        except hvac.exceptions.InvalidRequest as exc:
            message = first_error(exc)
            if "authentication failed" in message:
                raise IntegrityError(
                    f"Transit could not decrypt with {where}: wrong key or tampered ciphertext"
                ) from None
            if "not found" in message:
                raise SecretError(
                    f"Transit key {where} not found at {self.connection.addr}; create it with "
                    f"`bao write -f {self.mount}/keys/{key}` (add type=ed25519 for signing)"
                ) from None
            raise SecretError(f"Transit {what} with {where} refused: {message}") from None
        except hvac.exceptions.VaultError as exc:
            raise SecretError(f"Transit {what} with {where} failed: {first_error(exc)}") from None
        data = response.get("data") if isinstance(response, dict) else None
        if not isinstance(data, dict):
            raise SecretError(f"Transit {what} with {where}: unexpected response from Vault")
        return data

    def encrypt(self, plaintext: bytes) -> str:
        """Ciphertext ``vault:v<N>:...`` of ``plaintext`` under the encryption key."""
        key = self._key(self.encryption_key, "encryption")
        data = self._post("encrypting", key, "encrypt_data", plaintext=_b64(plaintext))
        return str(data["ciphertext"])

    def decrypt(self, ciphertext: str) -> bytes:
        """Plaintext of a Transit ciphertext; ``IntegrityError`` if it was tampered with."""
        key = self._key(self.encryption_key, "encryption")
        data = self._post("decrypting", key, "decrypt_data", ciphertext=ciphertext)
        return base64.b64decode(str(data.get("plaintext") or ""))

    def sign(self, message: bytes) -> str:
        """Ed25519 signature ``vault:v<N>:<base64>`` of ``message`` under the signing key."""
        key = self._key(self.signing_key, "signing")
        data = self._post("signing", key, "sign_data", hash_input=_b64(message))
        return str(data["signature"])

    def verify(self, message: bytes, signature: str) -> bool:
        """True when ``signature`` (from :meth:`sign`) is valid for ``message``."""
        key = self._key(self.signing_key, "signing")
        try:
            split_signature(signature)
        except IntegrityError:
            return False
        data = self._post(
            "verifying", key, "verify_signed_data", hash_input=_b64(message), signature=signature
        )
        return data.get("valid") is True

    def public_key(self, version: int | None = None) -> Ed25519PublicKey:
        """The signing key's public half (latest version by default) for offline verification."""
        key = self._key(self.signing_key, "signing")
        data = self._post("reading", key, "read_key")
        keys = data.get("keys")
        if data.get("type") != "ed25519" or not isinstance(keys, dict) or not keys:
            raise SecretError(
                f"Transit key {self.mount}/keys/{key} is not an ed25519 key; create it with "
                f"`bao write {self.mount}/keys/{key} type=ed25519`"
            )
        chosen = keys.get(str(version if version is not None else max(int(v) for v in keys)))
        if not isinstance(chosen, dict) or "public_key" not in chosen:
            raise SecretError(f"Transit key {self.mount}/keys/{key} has no version {version}")
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(str(chosen["public_key"])))


def transit_from_settings(settings: Settings) -> TransitClient:
    """The Transit client described by ``[secrets]``; ``ConfigError`` if Transit is not set up."""
    section = settings.secrets
    if not section.transit_mount:
        raise ConfigError("Transit is not configured: set secrets.transit_mount (e.g. 'transit')")
    return TransitClient(
        VaultConnection.from_settings(section),
        mount=section.transit_mount,
        encryption_key=section.transit_key,
        signing_key=section.transit_signing_key,
    )

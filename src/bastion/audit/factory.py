"""Open the configured audit log with its checkpoint key from ``bastion.secrets``."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.audit.log import AuditLog
from bastion.core.settings import Settings


def witness_path_for(settings: Settings) -> Path:
    """Where checkpoints are witnessed outside the database."""
    return settings.home / "audit-witness.jsonl"


def checkpoint_key(settings: Settings) -> Ed25519PrivateKey:
    """The audit checkpoint signing key from the configured secrets backend."""
    from bastion.secrets import keyring_from_settings

    return keyring_from_settings(settings).audit_checkpoint_key()


def open_audit_log(settings: Settings, *, signing_key: Ed25519PrivateKey | None = None) -> AuditLog:
    """The audit log named by ``settings`` (SQLite under the home directory by default)."""
    if settings.audit.url is None:
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = signing_key if signing_key is not None else checkpoint_key(settings)
    return AuditLog(
        settings.audit_url,
        signing_key=key,
        checkpoint_every=settings.audit.checkpoint_every,
        table_prefix=settings.audit.table_prefix,
        witness_path=witness_path_for(settings),
        busy_timeout_seconds=settings.audit.busy_timeout_seconds,
    )

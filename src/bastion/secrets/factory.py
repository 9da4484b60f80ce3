"""Build the configured provider and key ring from settings."""

from __future__ import annotations

from bastion.core.settings import Settings
from bastion.secrets.base import SecretProvider
from bastion.secrets.env import EnvSecretProvider
from bastion.secrets.file import FileSecretProvider
from bastion.secrets.keyring import KeyRing
from bastion.secrets.vault import VaultSecretProvider


def provider_from_settings(settings: Settings) -> SecretProvider:
    """The backend named by ``secrets.backend``."""
    section = settings.secrets
    if section.backend == "env":
        return EnvSecretProvider(section.env_prefix)
    if section.backend == "vault":
        return VaultSecretProvider.from_settings(section)
    return FileSecretProvider(settings.secrets_dir)


def keyring_from_settings(settings: Settings) -> KeyRing:
    """Bastion's keys in the configured backend."""
    return KeyRing(provider_from_settings(settings))

"""Where Bastion's keys live: one ``SecretProvider`` interface over env, file and Vault.

Other rooms import only from here::

    from bastion.secrets import keyring_from_settings
    key = keyring_from_settings(settings).audit_checkpoint_key()
"""

from __future__ import annotations

from bastion.secrets._vault_client import VaultConnection
from bastion.secrets.base import SecretProvider
from bastion.secrets.env import EnvSecretProvider, env_var_name
from bastion.secrets.factory import keyring_from_settings, provider_from_settings
from bastion.secrets.file import FileSecretProvider
from bastion.secrets.keyring import (
    KEY_AUDIT_CHECKPOINT,
    KEY_MODEL_SIGNING,
    KEY_PSEUDONYMIZATION,
    KEY_TOKEN_SIGNING,
    SIGNING_KEY_NAMES,
    WELL_KNOWN_KEYS,
    KeyRing,
    KeySpec,
    KeyStatus,
)
from bastion.secrets.transit import TransitClient, split_signature, transit_from_settings
from bastion.secrets.values import SECRET_NAME_PATTERN, SecretBytes, check_secret_name
from bastion.secrets.vault import VaultSecretProvider

__all__ = [
    "KEY_AUDIT_CHECKPOINT",
    "KEY_MODEL_SIGNING",
    "KEY_PSEUDONYMIZATION",
    "KEY_TOKEN_SIGNING",
    "SECRET_NAME_PATTERN",
    "SIGNING_KEY_NAMES",
    "WELL_KNOWN_KEYS",
    "EnvSecretProvider",
    "FileSecretProvider",
    "KeyRing",
    "KeySpec",
    "KeyStatus",
    "SecretBytes",
    "SecretProvider",
    "TransitClient",
    "VaultConnection",
    "VaultSecretProvider",
    "check_secret_name",
    "env_var_name",
    "keyring_from_settings",
    "provider_from_settings",
    "split_signature",
    "transit_from_settings",
]

"""Secrets from environment variables: read-only, for containers and CI."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from bastion.core.errors import SecretError
from bastion.secrets.base import SecretProvider

BASE64_PREFIX = "base64:"


def env_var_name(prefix: str, name: str) -> str:
    """``audit-checkpoint`` → ``BASTION_SECRET_AUDIT_CHECKPOINT``."""
    return prefix + name.upper().replace("-", "_")


class EnvSecretProvider(SecretProvider):
    """Reads ``<prefix><NAME_UPPER_UNDERSCORED>``.

    A value starting with ``base64:`` is decoded (standard or URL-safe alphabet) so
    binary keys fit in a variable; anything else is taken as raw UTF-8.  Writing is
    refused: a process cannot durably change its own environment.
    """

    def __init__(self, prefix: str = "BASTION_SECRET_", environ: Mapping[str, str] | None = None):
        self.prefix = prefix
        self._environ = environ

    def _variables(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def describe(self) -> str:
        return f"environment variables {self.prefix}*"

    def missing_hint(self, name: str) -> str:
        return (
            f"set {env_var_name(self.prefix, name)} (raw text, or 'base64:' followed by base64), "
            "or switch secrets.backend to 'file' or 'vault' and run `bastion keys init`"
        )

    def _read(self, name: str) -> bytes | None:
        variable = env_var_name(self.prefix, name)
        text = self._variables().get(variable)
        if text is None or text == "":
            return None
        if not text.startswith(BASE64_PREFIX):
            return text.encode("utf-8")
        encoded = "".join(text[len(BASE64_PREFIX) :].split())
        alphabet_fixed = encoded.replace("-", "+").replace("_", "/")
        try:
            value = base64.b64decode(
                alphabet_fixed + "=" * (-len(alphabet_fixed) % 4), validate=True
            )
        except (binascii.Error, ValueError):
            raise SecretError(
                f"{variable} starts with 'base64:' but the rest is not valid base64"
            ) from None
        if not value:
            raise SecretError(f"{variable} decodes to an empty value")
        return value

    def _write(self, name: str, value: bytes, *, overwrite: bool) -> bool:
        raise SecretError(
            f"the env secret backend is read-only: cannot store {name!r}; "
            f"set {env_var_name(self.prefix, name)} yourself, or use secrets.backend = "
            "'file' or 'vault'"
        )

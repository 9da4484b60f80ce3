"""Secrets in HashiCorp Vault / OpenBao KV version 2, with an in-process TTL cache."""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable

import hvac
import hvac.exceptions

from bastion.core.errors import SecretError
from bastion.core.settings import SecretsSettings
from bastion.secrets._vault_client import VaultConnection, first_error, vault_errors
from bastion.secrets.base import SecretProvider

VALUE_FIELD = "value"
ENCODING_FIELD = "encoding"


class VaultSecretProvider(SecretProvider):
    """One KV v2 secret per name at ``<mount>/<path>/<name>``.

    Values are stored as ``{"value": <base64>, "encoding": "base64"}``; a secret
    written by hand as ``value=<text>`` is read as UTF-8 text.  Reads are cached in
    this process for ``cache_ttl_seconds`` (0 disables the cache); ``put`` uses
    check-and-set version 0 so it can only create, unless ``overwrite`` is asked.
    """

    def __init__(
        self,
        connection: VaultConnection,
        *,
        mount: str = "secret",
        path: str = "bastion",
        cache_ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self.mount = mount.strip("/")
        self.path = path.strip("/")
        self.cache_ttl_seconds = cache_ttl_seconds
        self._clock = clock
        self._client: hvac.Client = connection.client()
        self._cache: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: SecretsSettings) -> VaultSecretProvider:
        """Build from the ``[secrets]`` settings section."""
        return cls(
            VaultConnection.from_settings(settings),
            mount=settings.vault_mount,
            path=settings.vault_path,
            cache_ttl_seconds=settings.vault_cache_ttl_seconds,
        )

    def secret_path(self, name: str) -> str:
        """The KV path of ``name`` below the mount."""
        return f"{self.path}/{name}" if self.path else name

    def describe(self) -> str:
        return f"Vault KV v2 at {self.connection.addr} ({self.mount}/{self.secret_path('')})"

    def missing_hint(self, name: str) -> str:
        return (
            f"run `bastion keys init` or write it with "
            f"`bao kv put -mount={self.mount} {self.secret_path(name)} value=...`"
        )

    def clear_cache(self) -> None:
        """Forget every cached value (e.g. after rotating keys elsewhere)."""
        with self._lock:
            self._cache.clear()

    def _read(self, name: str) -> bytes | None:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and now < cached[1]:
                return cached[0]
        value = self._fetch(name)
        with self._lock:
            if value is None:
                self._cache.pop(name, None)
            elif self.cache_ttl_seconds > 0:
                self._cache[name] = (value, now + self.cache_ttl_seconds)
        return value

    def _fetch(self, name: str) -> bytes | None:
        where = f"{self.mount}/{self.secret_path(name)}"
        try:
            with vault_errors(self.connection.addr, f"reading {where}"):
                response = self._client.secrets.kv.v2.read_secret_version(
                    path=self.secret_path(name),
                    mount_point=self.mount,
                    raise_on_deleted_version=True,
                )
        except hvac.exceptions.InvalidPath:
            return None
        except hvac.exceptions.VaultError as exc:
            raise SecretError(
                f"Vault at {self.connection.addr} refused reading {where}: {first_error(exc)}"
            ) from None
        data = (response.get("data") or {}).get("data") or {}
        return self._decode(data, where)

    @staticmethod
    def _decode(data: dict[str, object], where: str) -> bytes:
        raw = data.get(VALUE_FIELD)
        if not isinstance(raw, str) or not raw:
            raise SecretError(f"Vault secret {where} has no non-empty '{VALUE_FIELD}' field")
        if data.get(ENCODING_FIELD) == "base64":
            try:
                return base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise SecretError(
                    f"Vault secret {where} says encoding=base64 but its value is not base64"
                ) from None
        return raw.encode("utf-8")

    def _write(self, name: str, value: bytes, *, overwrite: bool) -> bool:
        where = f"{self.mount}/{self.secret_path(name)}"
        payload = {VALUE_FIELD: base64.b64encode(value).decode("ascii"), ENCODING_FIELD: "base64"}
        with self._lock:
            self._cache.pop(name, None)
        try:
            with vault_errors(self.connection.addr, f"writing {where}"):
                self._client.secrets.kv.v2.create_or_update_secret(
                    path=self.secret_path(name),
                    secret=payload,
                    cas=None if overwrite else 0,
                    mount_point=self.mount,
                )
        except hvac.exceptions.InvalidRequest as exc:
            if overwrite or "check-and-set" not in first_error(exc):
                raise SecretError(
                    f"Vault at {self.connection.addr} refused writing {where}: {first_error(exc)}"
                ) from None
            if self._fetch(name) is None:
                raise SecretError(
                    f"Vault secret {where} has history but its latest version is deleted; "
                    f"undelete it or remove its metadata (`bao kv metadata delete "
                    f"-mount={self.mount} {self.secret_path(name)}`) before `bastion keys init`"
                ) from None
            return False
        except hvac.exceptions.VaultError as exc:
            raise SecretError(
                f"Vault at {self.connection.addr} refused writing {where}: {first_error(exc)}"
            ) from None
        return True

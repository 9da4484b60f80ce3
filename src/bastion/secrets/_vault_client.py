"""A configured hvac client and one place that turns hvac/requests failures into Bastion errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import hvac
import hvac.exceptions
import requests

from bastion.core.errors import ConfigError, SecretError, ServiceUnavailableError
from bastion.core.settings import SecretsSettings

TOKEN_ENV_FALLBACKS = ("VAULT_TOKEN", "BAO_TOKEN")


@dataclass(frozen=True)
class VaultConnection:
    """Where Vault/OpenBao is and how to talk to it; the token never appears in ``repr``."""

    addr: str
    token: str = field(repr=False)
    namespace: str | None = None
    timeout_seconds: float = 5.0
    verify_tls: bool = True

    @classmethod
    def from_settings(cls, settings: SecretsSettings) -> VaultConnection:
        """Settings first, then ``VAULT_TOKEN``/``BAO_TOKEN``; no token is a configuration error."""
        token = settings.vault_token.get_secret_value() if settings.vault_token else ""
        for variable in TOKEN_ENV_FALLBACKS:
            token = token or os.environ.get(variable, "")
        if not token:
            raise ConfigError(
                "secrets.vault_token is not set: set BASTION_SECRETS__VAULT_TOKEN "
                "(or VAULT_TOKEN) to a Vault/OpenBao token"
            )
        addr = settings.vault_addr.rstrip("/")
        if not addr.startswith(("http://", "https://")):
            raise ConfigError(f"secrets.vault_addr {addr!r} must start with http:// or https://")
        return cls(
            addr=addr,
            token=token,
            namespace=settings.vault_namespace,
            timeout_seconds=settings.vault_timeout_seconds,
            verify_tls=settings.vault_verify_tls,
        )

    def client(self) -> hvac.Client:
        """A new hvac client bound to this connection."""
        return hvac.Client(
            url=self.addr,
            token=self.token,
            namespace=self.namespace,
            timeout=self.timeout_seconds,
            verify=self.verify_tls,
        )


@contextmanager
def vault_errors(addr: str, what: str) -> Iterator[None]:
    """Map hvac/requests exceptions to one-line Bastion errors that name ``addr`` and ``what``.

    Causes are suppressed: the CLI prints one line, and nothing in a request body can
    leak through a chained exception.
    """
    try:
        yield
    except requests.exceptions.SSLError:
        raise ServiceUnavailableError(
            f"Vault at {addr}: TLS verification failed while {what}; "
            "fix the certificate or secrets.vault_verify_tls"
        ) from None
    except requests.exceptions.Timeout:
        raise ServiceUnavailableError(
            f"Vault at {addr} did not answer in time while {what}; "
            "check it is up or raise secrets.vault_timeout_seconds"
        ) from None
    except requests.exceptions.RequestException:
        raise ServiceUnavailableError(
            f"Vault not reachable at {addr} while {what}; "
            "check that it is running and secrets.vault_addr"
        ) from None
    except hvac.exceptions.VaultDown:
        raise ServiceUnavailableError(
            f"Vault at {addr} is sealed or in maintenance while {what}; unseal it"
        ) from None
    except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
        raise SecretError(
            f"Vault at {addr} denied {what} (bad or expired token, or missing policy); "
            "check secrets.vault_token and its policy"
        ) from None
    except hvac.exceptions.InternalServerError as exc:
        raise ServiceUnavailableError(
            f"Vault at {addr} failed while {what}: {first_error(exc)}"
        ) from None


def first_error(exc: hvac.exceptions.VaultError) -> str:
    """The first error message Vault returned (never contains request data)."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list) and errors:
        return str(errors[0])
    return type(exc).__name__

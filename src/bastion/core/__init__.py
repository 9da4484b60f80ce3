"""Foundation shared by every room: settings, errors, identity, crypto, time."""

from bastion.core.errors import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    AccessDeniedError,
    BastionError,
    ConfigError,
    IntegrityError,
    NotFoundError,
    SecretError,
    ServiceUnavailableError,
    ValidationError,
)
from bastion.core.identity import Principal, principal_from_cli
from bastion.core.settings import Settings, load_settings, redacted_view
from bastion.core.timeutil import isoformat, parse_iso, utcnow

__all__ = [
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_USAGE",
    "AccessDeniedError",
    "BastionError",
    "ConfigError",
    "IntegrityError",
    "NotFoundError",
    "Principal",
    "SecretError",
    "ServiceUnavailableError",
    "Settings",
    "ValidationError",
    "isoformat",
    "load_settings",
    "parse_iso",
    "principal_from_cli",
    "redacted_view",
    "utcnow",
]

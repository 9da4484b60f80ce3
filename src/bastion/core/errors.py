"""One error hierarchy for the whole project.

Every expected failure is a ``BastionError`` whose message says what went wrong
and what to do; the CLI maps ``exit_code`` to the process exit status and never
prints a traceback for these.  Exit codes: 0 ok, 1 findings or refused,
2 usage or configuration error.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class BastionError(Exception):
    """Base of every expected Bastion failure."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(BastionError):
    """A settings, policy or spec file is malformed or inconsistent."""


class ValidationError(ConfigError):
    """Input that fails validation, located by file, line and field where known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        where = []
        if file:
            where.append(f"{file}:{line}" if line else file)
        if field:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ServiceUnavailableError(BastionError):
    """A required service (database, Vault, Redis) cannot be reached or refused us."""


class SecretError(BastionError):
    """A secret is missing, unreadable, insecurely stored or malformed."""


class AccessDeniedError(BastionError):
    """The principal is not allowed to perform the action on the resource."""

    exit_code = EXIT_FINDINGS

    def __init__(self, principal: str, action: str, resource: str, reason: str) -> None:
        self.principal = principal
        self.action = action
        self.resource = resource
        self.reason = reason
        super().__init__(f"access denied: {principal!r} may not {action} {resource!r} ({reason})")


class IntegrityError(BastionError):
    """Something that must be intact (audit log, model file, signature) is not."""

    exit_code = EXIT_FINDINGS


class NotFoundError(BastionError):
    """A named thing (event, key, model, incident) does not exist."""

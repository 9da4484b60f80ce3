"""The one interface every secret backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

from bastion.core.errors import SecretError
from bastion.secrets.values import SecretBytes, check_secret_name


class SecretProvider(ABC):
    """Read and create named secrets in one backend.

    Subclasses implement ``_read``/``_write``/``describe``; this class validates names,
    wraps values in :class:`SecretBytes` and turns absence into an actionable error.
    """

    def get(self, name: str) -> bytes:
        """The value of ``name``; ``SecretError`` naming the secret and the fix if it is absent."""
        value = self.get_optional(name)
        if value is None:
            raise SecretError(
                f"secret {name!r} is not set in {self.describe()}; {self.missing_hint(name)}"
            )
        return value

    def get_optional(self, name: str) -> bytes | None:
        """The value of ``name``, or ``None`` when it does not exist."""
        check_secret_name(name)
        value = self._read(name)
        return None if value is None else SecretBytes(value)

    def put(self, name: str, value: bytes, *, overwrite: bool = False) -> bool:
        """Store ``value``; ``True`` if written, ``False`` if ``name`` existed and was kept."""
        check_secret_name(name)
        if not isinstance(value, bytes):
            raise SecretError(f"secret {name!r} must be bytes, not {type(value).__name__}")
        if not value:
            raise SecretError(f"secret {name!r} must not be empty")
        return self._write(name, bytes(value), overwrite=overwrite)

    def exists(self, name: str) -> bool:
        """Whether ``name`` is set (reading it, so insecure storage still raises)."""
        return self.get_optional(name) is not None

    @abstractmethod
    def describe(self) -> str:
        """Where secrets live (backend and location), never a value or a credential."""

    def missing_hint(self, name: str) -> str:
        """What the user should do when ``name`` is missing."""
        return "run `bastion keys init` or store it in this backend"

    @abstractmethod
    def _read(self, name: str) -> bytes | None:
        """Raw value or ``None``; ``name`` is already validated."""

    @abstractmethod
    def _write(self, name: str, value: bytes, *, overwrite: bool) -> bool:
        """Store; ``name`` is validated and ``value`` non-empty bytes."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

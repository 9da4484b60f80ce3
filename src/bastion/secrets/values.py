"""Secret values that never show themselves, and the rules for secret names."""

from __future__ import annotations

import re

from bastion.core.errors import SecretError

SECRET_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


class SecretBytes(bytes):
    """``bytes`` whose ``repr``/``str``/``format`` hide the content.

    It is a real ``bytes`` so every consumer (HMAC, AES-GCM, PEM loaders) takes it
    unchanged, while an accidental ``print``, f-string or log line shows only the length.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<secret: {len(self)} bytes>"

    def __str__(self) -> str:
        return self.__repr__()

    def __format__(self, format_spec: str) -> str:
        return self.__repr__()


def check_secret_name(name: str) -> str:
    """Return ``name`` if it is a valid secret name, else raise ``SecretError`` saying why."""
    if not isinstance(name, str) or SECRET_NAME_PATTERN.fullmatch(name) is None:
        shown = name if isinstance(name, str) and len(name) <= 80 else f"<{type(name).__name__}>"
        raise SecretError(
            f"invalid secret name {shown!r}: use 1-64 characters of a-z, 0-9 and '-', "
            "starting with a letter or digit"
        )
    return name

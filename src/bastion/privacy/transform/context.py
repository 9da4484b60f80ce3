"""State that makes replacements consistent within one document or session.

A ``DocumentContext`` remembers which ``<TYPE_n>`` number and which surrogate each
value received, keyed by a digest of the value rather than the value itself.  Share
one context across several texts (e.g. all notes of one patient) to keep numbering
and surrogates consistent across them; the default is one context per ``anonymize``.
"""

from __future__ import annotations

import os

from bastion.core.crypto import hmac_sha256
from bastion.core.errors import ConfigError
from bastion.privacy.transform.keys import TransformKeys
from bastion.privacy.transform.normalize import normalize


class DocumentContext:
    """Per-document (or per-session) memory of replacements; holds no raw values."""

    def __init__(
        self,
        key: bytes | None = None,
        *,
        encryption_key: bytes | None = None,
        person_id: str | None = None,
    ) -> None:
        self.keys = TransformKeys(key, encryption_key=encryption_key) if key is not None else None
        if key is None and encryption_key is not None:
            raise ConfigError("an encryption key needs a pseudonymization key as well")
        self.person_id = person_id
        self._salt = os.urandom(32) if self.keys is None else self.keys.pseudonym
        self._numbers: dict[str, dict[bytes, int]] = {}
        self._surrogates: dict[tuple[str, bytes], str] = {}
        self._taken: dict[tuple[str, str], bytes] = {}
        self.document_seed: bytes | None = None

    def __repr__(self) -> str:
        return f"DocumentContext(keyed={self.keys is not None}, person_id=***)"

    def require_keys(self, operator: str) -> TransformKeys:
        """The keys, or a clear error naming the operator that needs them."""
        if self.keys is None:
            raise ConfigError(
                f"operator '{operator}' needs a key: pass key=... (32 bytes from bastion.secrets)"
            )
        return self.keys

    def digest(self, value: str, entity_type: str) -> bytes:
        """A keyed digest identifying ``value`` within this context."""
        return hmac_sha256(self._salt, normalize(value, entity_type).encode("utf-8"))

    def number(self, value: str, entity_type: str) -> int:
        """1-based number of ``value`` among the distinct values of its type, in order seen."""
        seen = self._numbers.setdefault(entity_type, {})
        token = self.digest(value, entity_type)
        if token not in seen:
            seen[token] = len(seen) + 1
        return seen[token]

    def remember_surrogate(self, value: str, entity_type: str, candidate: str) -> str | None:
        """Record ``candidate`` for ``value``; ``None`` if another value already took it."""
        token = self.digest(value, entity_type)
        known = self._surrogates.get((entity_type, token))
        if known is not None:
            return known
        owner = self._taken.get((entity_type, candidate))
        if owner is not None and owner != token:
            return None
        self._surrogates[(entity_type, token)] = candidate
        self._taken[(entity_type, candidate)] = token
        return candidate

    def known_surrogate(self, value: str, entity_type: str) -> str | None:
        """The surrogate already chosen for ``value`` in this context, if any."""
        return self._surrogates.get((entity_type, self.digest(value, entity_type)))

"""The operators: each turns one detected value into its replacement.

Every operator is a small pydantic model of its parameters plus an ``apply``
method, so that a YAML policy validates into exactly these objects and each
operator can be tested alone.  No operator ever returns the original value.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, ClassVar, Literal

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bastion.core.crypto import aead_open, aead_seal, b64decode, b64encode, hmac_sha256
from bastion.core.errors import IntegrityError
from bastion.privacy.transform.context import DocumentContext
from bastion.privacy.transform.dates import parse_date
from bastion.privacy.transform.generalize import age_band, year_only, zip3
from bastion.privacy.transform.normalize import normalize
from bastion.privacy.transform.surrogates import shares_token, surrogate

ENCRYPTED_TOKEN = re.compile(r"<ENC:([A-Z][A-Z0-9_]*):([A-Za-z0-9_-]+)>")
GENERALIZABLE = frozenset({"AGE", "DATE_TIME", "DATE_OF_BIRTH", "ZIP_CODE"})
_NONCE_BYTES = 12


class _Operator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    needs_key: ClassVar[bool] = False

    def apply(self, value: str, entity_type: str, context: DocumentContext) -> str:
        raise NotImplementedError


class Redact(_Operator):
    """Remove the value entirely."""

    operator: Literal["redact"] = "redact"

    def apply(self, value: str, entity_type: str, context: DocumentContext) -> str:
        return ""


class Replace(_Operator):
    """``<TYPE_n>`` (same value, same n within a document), ``<TYPE>``, or a fixed text."""

    operator: Literal["replace"] = "replace"
    numbered: bool = True
    value: str | None = None

    def apply(self, value: str, entity_type: str, context: DocumentContext) -> str:
        if self.value is not None:
            return self.value
        if self.numbered:
            return f"<{entity_type}_{context.number(value, entity_type)}>"
        return f"<{entity_type}>"


class Mask(_Operator):
    """Replace every character but the last ``keep_last`` with ``masking_char``."""

    operator: Literal["mask"] = "mask"
    keep_last: int = Field(default=4, ge=0, le=64)
    masking_char: str = Field(default="*", min_length=1, max_length=1)
    keep_separators: bool = False

    def apply(self, value: str, entity_type: str, context: DocumentContext) -> str:
        return mask_value(value, self.keep_last, self.masking_char, self.keep_separators)


def mask_value(value: str, keep_last: int, masking_char: str, keep_separators: bool) -> str:
    """Mask all but the last ``keep_last`` alphanumerics; never reveal more than half."""
    positions = [i for i, ch in enumerate(value) if ch.isalnum() or not keep_separators]
    visible = min(keep_last, len(positions) // 2)
    shown = set(positions[len(positions) - visible :]) if visible else set()
    return "".join(
        ch if i in shown or (keep_separators and not ch.isalnum()) else masking_char
        for i, ch in enumerate(value)
    )


class Pseudonymize(_Operator):
    """Keyed HMAC-SHA256 of the normalized value: stable under a key, unlinkable across keys."""

    operator: Literal["pseudonymize"] = "pseudonymize"
    needs_key: ClassVar[bool] = True
    length: int = Field(default=16, ge=8, le=64)
    template: str = "<{type}:{digest}>"

    @field_validator("template")
    @classmethod
    def _has_digest(cls, template: str) -> str:
        if "{digest}" not in template:
            raise ValueError("template must contain {digest}")
        try:
            template.format(type="T", digest="d")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"template may use only {{type}} and {{digest}} ({exc})") from None
        return template

    def apply(self, value: str, entity_type: str, context: DocumentContext) -> str:
        keys = context.require_keys(self.operator)
        digest = pseudonym_digest(keys.pseudonym, value, entity_type, self.length)
        return self.template.format(type=entity_type, digest=digest)


def pseudonym_digest(pseudonym_key: bytes, value: str, entity_type: str, length: int) -> str:
    """Hex HMAC of the normalized value, truncated to ``length`` characters."""
    mac = hmac_sha256(pseudonym_key, normalize(value, entity_type).encode("utf-8"))
    return mac.hex()[:length]


class Surrogate(_Operator):
    """A realistic Faker value, the same for the same original within a context and key."""

    operator: Literal["surrogate"] = "surrogate"
    needs_key: ClassVar[bool] = True

    def apply(self, value: str, entity_type: str, context: DocumentContext) -> str:
        known = context.known_surrogate(value, entity_type)
        if known is not None:
            return known
        keys = context.require_keys(self.operator)
        base = normalize(value, entity_type).encode("utf-8")
        for attempt in range(64):
            seed = hmac_sha256(
                keys.surrogate, entity_type.encode() + b"\0" + base + bytes([attempt])
            )
            candidate = surrogate(value, entity_type, seed)
            if normalize(candidate, entity_type) == normalize(value, entity_type):
                continue
            if entity_type == "PERSON" and shares_token(value, candidate):
                continue
            if entity_type == "AGE":  # bands such as "90+" are meant to be shared
                return candidate
            accepted = context.remember_surrogate(value, entity_type, candidate)
            if accepted is not None:
                return accepted
        return f"<{entity_type}_{context.number(value, entity_type)}>"


class Encrypt(_Operator):
    """AES-256-GCM, reversible with :func:`deanonymize`; the entity type is bound as AAD.

    ``deterministic`` (default) derives the nonce from the value (synthetic IV), so
    the same value encrypts the same way under one key and batch output is
    reproducible; it reveals equality, as a pseudonym does.  Set it to false for
    random nonces.
    """

    operator: Literal["encrypt"] = "encrypt"
    needs_key: ClassVar[bool] = True
    deterministic: bool = True

    def apply(self, value: str, entity_type: str, context: DocumentContext) -> str:
        keys = context.require_keys(self.operator)
        aad = entity_type.encode("ascii")
        plaintext = value.encode("utf-8")
        if self.deterministic:
            nonce = hmac_sha256(keys.encrypt_nonce, aad + b"\0" + plaintext)[:_NONCE_BYTES]
            sealed = nonce + AESGCM(keys.encrypt).encrypt(nonce, plaintext, aad)
        else:
            sealed = aead_seal(keys.encrypt, plaintext, aad)
        return f"<ENC:{entity_type}:{b64encode(sealed)}>"


def decrypt_token(encryption_key: bytes, entity_type: str, payload: str) -> str:
    """Open one ``<ENC:TYPE:...>`` payload; ``IntegrityError`` on a wrong key or tampering."""
    try:
        sealed = b64decode(payload)
    except ValueError as exc:
        raise IntegrityError("encrypted token is not valid base64") from exc
    plaintext = aead_open(encryption_key, sealed, entity_type.encode("ascii"))
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntegrityError("decrypted token is not UTF-8") from exc


class DateShift(_Operator):
    """Shift dates by a secret per-person offset in [-max_days, max_days] (never 0).

    The offset is ``HMAC(key, person id)``: every date of one person moves by the
    same number of days, so intervals survive.  Without a person id the offset is
    per document.  Unparseable values fall back to ``<TYPE_n>``.
    """

    operator: Literal["date_shift"] = "date_shift"
    needs_key: ClassVar[bool] = True
    max_days: int = Field(default=365, ge=1, le=3650)
    day_first: bool = False

    def apply(self, value: str, entity_type: str, context: DocumentContext) -> str:
        keys = context.require_keys(self.operator)
        parsed = parse_date(value, day_first=self.day_first)
        if parsed is None:
            return Replace().apply(value, entity_type, context)
        offset = shift_days(keys.date_shift, context, self.max_days)
        try:
            return parsed.render(parsed.value + timedelta(days=offset))
        except OverflowError:
            return Replace().apply(value, entity_type, context)


def shift_days(date_key: bytes, context: DocumentContext, max_days: int) -> int:
    """The secret, non-zero day offset of the context's person (or document)."""
    if context.person_id is not None:
        material = b"person\0" + context.person_id.encode("utf-8")
    else:
        material = b"document\0" + (context.document_seed or b"")
    number = int.from_bytes(hmac_sha256(date_key, material)[:8], "big")
    magnitude = number % max_days + 1
    return magnitude if (number >> 63) & 1 else -magnitude


class Generalize(_Operator):
    """AGE → ``40-49``/``90+``, dates → year, ZIP_CODE → ``021XX`` (``000XX`` if restricted)."""

    operator: Literal["generalize"] = "generalize"
    age_band_width: int = Field(default=10, ge=1, le=50)
    zip_suffix: str = Field(default="XX", max_length=4)

    def apply(self, value: str, entity_type: str, context: DocumentContext) -> str:
        result: str | None = None
        if entity_type == "AGE":
            result = age_band(value, width=self.age_band_width)
        elif entity_type in {"DATE_TIME", "DATE_OF_BIRTH"}:
            result = year_only(value)
        elif entity_type == "ZIP_CODE":
            prefix = zip3(value)
            result = None if prefix is None else prefix + self.zip_suffix
        if result is None:
            return Replace().apply(value, entity_type, context)
        return result


OperatorConfig = Annotated[
    Redact | Replace | Mask | Pseudonymize | Surrogate | Encrypt | DateShift | Generalize,
    Field(discriminator="operator"),
]
OPERATOR_NAMES = (
    "redact",
    "replace",
    "mask",
    "pseudonymize",
    "surrogate",
    "encrypt",
    "date_shift",
    "generalize",
)

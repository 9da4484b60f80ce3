"""Canonical forms of detected values, so that spelling variants map to one pseudonym."""

from __future__ import annotations

import re
import unicodedata

_DIGIT_ENTITIES = frozenset(
    {
        "PHONE_NUMBER",
        "FAX_NUMBER",
        "US_SSN",
        "US_ITIN",
        "CREDIT_CARD",
        "ZIP_CODE",
    }
)
_COMPACT_ENTITIES = frozenset({"IBAN_CODE", "MAC_ADDRESS", "US_PASSPORT", "US_DRIVER_LICENSE"})
_SPACES = re.compile(r"\s+")


def normalize(value: str, entity_type: str = "") -> str:
    """Case-, width- and whitespace-insensitive form; digits only for numeric identifiers."""
    text = unicodedata.normalize("NFKC", value).strip()
    if entity_type in _DIGIT_ENTITIES:
        digits = "".join(ch for ch in text if ch.isdigit())
        if digits:
            return digits
    if entity_type in _COMPACT_ENTITIES:
        return "".join(ch for ch in text if ch.isalnum()).upper()
    return _SPACES.sub(" ", text).casefold()

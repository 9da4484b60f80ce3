"""Generalizations that HIPAA Safe Harbor names: age bands with 90+, 3-digit ZIPs, year only.

Shared by the text operator ``generalize`` and the tabular transformers.  Values
that cannot be parsed generalize to ``None``: the raw value is never passed through.
"""

from __future__ import annotations

import re

from bastion.privacy.transform.dates import parse_date

# 3-digit ZIP prefixes whose population was under 20,000 in the 2000 Census; HHS
# Safe Harbor guidance requires them to be reported as "000".
RESTRICTED_ZIP3 = frozenset(
    {
        "036",
        "059",
        "063",
        "102",
        "203",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    }
)
SAFE_HARBOR_AGE_LIMIT = 89
_ZIP = re.compile(r"^\s*(\d{5})(?:[-\s]?\d{4})?\s*$")
_AGE = re.compile(r"(\d{1,3}(?:\.\d+)?)")


def parse_age(value: object) -> float | None:
    """An age in years from a number or text such as ``"42"``, ``"42 years"``, ``"42-year-old"``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        match = _AGE.search(str(value))
        if not match:
            return None
        number = float(match.group(1))
    if number != number or number < 0 or number > 150:  # NaN or implausible
        return None
    return number


def top_code_age(value: object, limit: int = SAFE_HARBOR_AGE_LIMIT) -> str | None:
    """``"90+"`` for ages above ``limit``, otherwise the whole-year age as text."""
    age = parse_age(value)
    if age is None:
        return None
    if age > limit:
        return f"{limit + 1}+"
    return str(int(age))


def age_band(value: object, width: int = 10, limit: int = SAFE_HARBOR_AGE_LIMIT) -> str | None:
    """``"40-49"`` style bands of ``width`` years; everything above ``limit`` is ``"90+"``."""
    if width < 1:
        raise ValueError("age band width must be at least 1")
    age = parse_age(value)
    if age is None:
        return None
    if age > limit:
        return f"{limit + 1}+"
    low = int(age) // width * width
    high = min(low + width - 1, limit)
    return str(low) if low == high else f"{low}-{high}"


def zip3(value: object) -> str | None:
    """The first three digits of a US ZIP, or ``"000"`` for the restricted prefixes."""
    if value is None:
        return None
    text = str(value)
    if isinstance(value, int) and 0 <= value <= 99999:
        text = f"{value:05d}"
    match = _ZIP.match(text)
    if not match:
        return None
    prefix = match.group(1)[:3]
    return "000" if prefix in RESTRICTED_ZIP3 else prefix


def year_only(value: object) -> str | None:
    """The year of a date given as text, ``date`` or ``datetime``."""
    if value is None:
        return None
    year = getattr(value, "year", None)
    if isinstance(year, int):
        return f"{year:04d}"
    parsed = parse_date(str(value))
    if parsed is None:
        return None
    return f"{parsed.value.year:04d}"

"""Named validators: checksum and structure checks that turn a regex hit into a finding.

Each validator takes the matched text and returns ``True`` (valid: raise confidence),
``False`` (reject) or ``None`` (cannot tell: keep the pattern score). Custom YAML
recognizers refer to them by name.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from stdnum import iban as _iban
from stdnum import imei as _imei
from stdnum import luhn as _luhn
from stdnum.us import itin as _itin
from stdnum.us import ssn as _ssn

Validator = Callable[[str], bool | None]

_NON_DIGIT = re.compile(r"\D")


def digits(value: str) -> str:
    """Only the digits of ``value``."""
    return _NON_DIGIT.sub("", value)


def _repetitive(number: str) -> bool:
    return (
        len(set(number)) <= 1
        or number in "01234567890123456789"
        or number in "98765432109876543210"
    )


def luhn(value: str) -> bool | None:
    """Credit cards and similar: Luhn checksum over 13–19 digits, not all one digit."""
    number = digits(value)
    if not 13 <= len(number) <= 19 or _repetitive(number):
        return False
    return bool(_luhn.is_valid(number))


def iban(value: str) -> bool | None:
    """IBAN mod-97 checksum and per-country length (python-stdnum)."""
    return bool(_iban.is_valid(value))


def us_ssn(value: str) -> bool | None:
    """SSA rules: no 000/666/9xx area, no 00 group, no 0000 serial, no advertised numbers."""
    number = digits(value)
    return len(number) == 9 and bool(_ssn.is_valid(number)) and not _repetitive(number)


def us_itin(value: str) -> bool | None:
    """IRS individual taxpayer numbers: 9xx-[50-65,70-88,90-92,94-99]-xxxx."""
    number = digits(value)
    return len(number) == 9 and bool(_itin.is_valid(number))


def ip_address(value: str) -> bool | None:
    """A parseable IPv4 or IPv6 address (not a version string like 1.2.3)."""
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def imei(value: str) -> bool | None:
    """15-digit IMEI with Luhn check digit."""
    return bool(_imei.is_valid(digits(value)))


_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}


def vin(value: str) -> bool | None:
    """17-character vehicle identification number; the North-American check digit when present."""
    code = value.upper()
    if len(code) != 17 or any(ch not in _VIN_VALUES for ch in code):
        return False
    if not any(ch.isdigit() for ch in code) or not any(ch.isalpha() for ch in code):
        return False
    total = sum(_VIN_VALUES[ch] * w for ch, w in zip(code, _VIN_WEIGHTS, strict=True))
    check = "X" if total % 11 == 10 else str(total % 11)
    return True if code[8] == check else None


def not_repetitive(value: str) -> bool | None:
    """Rejects placeholder numbers made of one repeated digit, such as 0000000."""
    number = digits(value)
    return None if number and len(set(number)) > 1 else False


def has_digit(value: str) -> bool | None:
    """Identifiers must contain at least one digit (rules out plain words)."""
    return None if any(ch.isdigit() for ch in value) else False


VALIDATORS: dict[str, Validator] = {
    "luhn": luhn,
    "iban": iban,
    "us_ssn": us_ssn,
    "us_itin": us_itin,
    "ip_address": ip_address,
    "imei": imei,
    "vin": vin,
    "not_repetitive": not_repetitive,
    "has_digit": has_digit,
}

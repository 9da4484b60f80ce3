"""Parse the common ways dates are written and write a new date back in the same style.

Date shifting must keep a note readable: ``04/05/2023`` shifts to ``07/19/2023``,
``April 5th, 2023`` to ``July 19th, 2023``, ``2023-04-05T10:30`` keeps its time.
Text before and after the date inside a span (``on``, a time, a zone) is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_LOOKUP: dict[str, int] = {}
for _index, _name in enumerate(_MONTHS, start=1):
    _MONTH_LOOKUP[_name] = _index
    _MONTH_LOOKUP[_name[:3]] = _index
_MONTH_LOOKUP["sept"] = 9
_MONTH_NAME = r"(?P<month_name>" + "|".join(sorted(_MONTH_LOOKUP, key=len, reverse=True)) + r")"
_ORDINAL = r"(?P<ordinal>st|nd|rd|th)?"

_ISO = re.compile(
    r"(?<!\d)(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?!\d)"
)
_NUMERIC = re.compile(
    r"(?<!\d)(?P<first>\d{1,2})(?P<sep>[-/.])(?P<second>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})(?!\d)"
)
_MONTH_DAY_YEAR = re.compile(
    _MONTH_NAME
    + r"(?P<dot>\.)?(?P<gap1>\s+)(?P<day>\d{1,2})"
    + _ORDINAL
    + r"(?P<comma>,?)(?P<gap2>\s+)(?P<year>\d{4})(?!\d)",
    re.IGNORECASE,
)
_DAY_MONTH_YEAR = re.compile(
    r"(?<!\d)(?P<day>\d{1,2})"
    + _ORDINAL
    + r"(?P<gap1>\s+)(?:of\s+)?"
    + _MONTH_NAME
    + r"(?P<dot>\.)?(?P<comma>,?)(?P<gap2>\s+)(?P<year>\d{4})(?!\d)",
    re.IGNORECASE,
)
_MONTH_YEAR = re.compile(
    _MONTH_NAME + r"(?P<dot>\.)?(?P<comma>,?)(?P<gap>\s+)(?P<year>\d{4})(?!\d)", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A date found in a piece of text and a way to write another date in its place."""

    value: date
    render: Callable[[date], str]


def parse_date(text: str, *, day_first: bool = False) -> ParsedDate | None:
    """The first date in ``text`` with a renderer that keeps format and surrounding text."""
    for parser in (_parse_iso, _parse_month_day_year, _parse_day_month_year, _parse_numeric):
        parsed = parser(text, day_first)
        if parsed is not None:
            return parsed
    return _parse_month_year(text)


def _splice(text: str, match: re.Match[str], body: Callable[[date], str]) -> Callable[[date], str]:
    head, tail = text[: match.start()], text[match.end() :]
    return lambda new: head + body(new) + tail


def _pad(original: str, number: int) -> str:
    return f"{number:0{len(original)}d}" if original.startswith("0") else str(number)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _expand_year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        return 2000 + year if year < 69 else 1900 + year
    return year


def _year_text(original: str, year: int) -> str:
    return f"{year % 100:02d}" if len(original) == 2 else f"{year:04d}"


def _parse_iso(text: str, _day_first: bool) -> ParsedDate | None:
    match = _ISO.search(text)
    if not match:
        return None
    value = _safe_date(int(match["year"]), int(match["month"]), int(match["day"]))
    if value is None:
        return None
    sep, month_text, day_text = match["sep"], match["month"], match["day"]

    def body(new: date) -> str:
        return f"{new.year:04d}{sep}{_pad(month_text, new.month)}{sep}{_pad(day_text, new.day)}"

    return ParsedDate(value, _splice(text, match, body))


def _parse_numeric(text: str, day_first: bool) -> ParsedDate | None:
    match = _NUMERIC.search(text)
    if not match:
        return None
    first, second, year_text = int(match["first"]), int(match["second"]), match["year"]
    year = _expand_year(year_text)
    swapped = day_first
    if first > 12 and second <= 12:
        swapped = True
    elif second > 12 and first <= 12:
        swapped = False
    month, day = (second, first) if swapped else (first, second)
    value = _safe_date(year, month, day)
    if value is None:
        return None
    sep = match["sep"]
    month_text, day_text = (
        (match["second"], match["first"])
        if swapped
        else (
            match["first"],
            match["second"],
        )
    )

    def body(new: date) -> str:
        month_out, day_out = _pad(month_text, new.month), _pad(day_text, new.day)
        first_out, second_out = (day_out, month_out) if swapped else (month_out, day_out)
        return f"{first_out}{sep}{second_out}{sep}{_year_text(year_text, new.year)}"

    return ParsedDate(value, _splice(text, match, body))


def _month_renderer(original: str) -> Callable[[int], str]:
    full = original.lower() in _MONTHS
    if original.isupper() and len(original) > 1:
        case: Callable[[str], str] = str.upper
    elif original.islower():
        case = str.lower
    else:
        case = str.capitalize

    def render(month: int) -> str:
        name = _MONTHS[month - 1]
        if not full:
            name = "sept" if original.lower() == "sept" and month == 9 else name[:3]
        return case(name)

    return render


def _ordinal(day: int) -> str:
    if 10 <= day % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _ordinal_renderer(original: str | None) -> Callable[[int], str]:
    if not original:
        return lambda _day: ""
    upper = original.isupper()
    return lambda day: _ordinal(day).upper() if upper else _ordinal(day)


def _parse_month_day_year(text: str, _day_first: bool) -> ParsedDate | None:
    match = _MONTH_DAY_YEAR.search(text)
    if not match:
        return None
    value = _safe_date(
        int(match["year"]), _MONTH_LOOKUP[match["month_name"].lower()], int(match["day"])
    )
    if value is None:
        return None
    month_out, ordinal_out = (
        _month_renderer(match["month_name"]),
        _ordinal_renderer(match["ordinal"]),
    )
    dot, gap1, comma, gap2, day_text = (
        match["dot"] or "",
        match["gap1"],
        match["comma"],
        match["gap2"],
        match["day"],
    )

    def body(new: date) -> str:
        return (
            f"{month_out(new.month)}{dot}{gap1}{_pad(day_text, new.day)}{ordinal_out(new.day)}"
            f"{comma}{gap2}{new.year:04d}"
        )

    return ParsedDate(value, _splice(text, match, body))


def _parse_day_month_year(text: str, _day_first: bool) -> ParsedDate | None:
    match = _DAY_MONTH_YEAR.search(text)
    if not match:
        return None
    value = _safe_date(
        int(match["year"]), _MONTH_LOOKUP[match["month_name"].lower()], int(match["day"])
    )
    if value is None:
        return None
    month_out, ordinal_out = (
        _month_renderer(match["month_name"]),
        _ordinal_renderer(match["ordinal"]),
    )
    between = text[
        match.end("ordinal") if match["ordinal"] else match.end("day") : match.start("month_name")
    ]
    dot, comma, gap2, day_text = match["dot"] or "", match["comma"], match["gap2"], match["day"]

    def body(new: date) -> str:
        return (
            f"{_pad(day_text, new.day)}{ordinal_out(new.day)}{between}{month_out(new.month)}"
            f"{dot}{comma}{gap2}{new.year:04d}"
        )

    return ParsedDate(value, _splice(text, match, body))


def _parse_month_year(text: str) -> ParsedDate | None:
    match = _MONTH_YEAR.search(text)
    if not match:
        return None
    value = date(int(match["year"]), _MONTH_LOOKUP[match["month_name"].lower()], 1)
    month_out = _month_renderer(match["month_name"])
    dot, comma, gap = match["dot"] or "", match["comma"], match["gap"]

    def body(new: date) -> str:
        return f"{month_out(new.month)}{dot}{comma}{gap}{new.year:04d}"

    return ParsedDate(value, _splice(text, match, body))

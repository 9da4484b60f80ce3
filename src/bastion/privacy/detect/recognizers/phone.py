"""Phone and fax numbers: phone-shaped runs validated with libphonenumber's metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

from bastion.privacy.detect import validators as v
from bastion.privacy.detect.recognizer import Document, split_run
from bastion.privacy.detect.span import Span

_I = re.IGNORECASE
_GROUPED_DIGITS = re.compile(r"\d[ .-]\d")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _has_space(text: str, start: int, end: int) -> bool:
    return any(ch.isspace() for ch in text[start:end])


_PHONE_BODY_RE = (
    r"(?=(?:[^\d\n]{0,3}\d){7})"  # at least 7 digits: cheap early reject
    r"(?:(?:\+|00|011|001)[ .-]?\d{1,3}[ .-]?)?(?:\(0?\d{1,4}\)[ .-]?)?\d{1,4}"
    r"(?:[ .-]?\d{2,5}){1,5}(?:\s?(?:x|ext\.?|extension)\s?\d{1,6})?(?![\w-]|[.:]\d)"
)
#: The leading look-ahead is a one-character test that fails fast on most positions.
_PHONE = re.compile(r"(?=[+(\d])(?<![\w+.\-/:])" + _PHONE_BODY_RE, _I)
_PHONE_BODY = re.compile(_PHONE_BODY_RE, _I)
_NANP_DIGITS = re.compile(r"^1?[2-9]\d{2}[2-9]\d{6}$")
_EXTENSION = re.compile(r"\s?(?:x|ext\.?|extension)\s?\d", re.IGNORECASE)
_DECIMAL = re.compile(r"^\d+\.\d+$")
_SSN_SHAPE = re.compile(r"^\d{3}([- ])\d{2}\1\d{4}$")
_ISO_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}(?!\d)|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}$")
_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")
_REGIONS = ("GB", "FR", "DE", "IT", "ES", "NL", "IE", "CA", "AU", "IN", "BR")


@cache
def _region_filters() -> tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...]:
    """Per region: its general number pattern and international-prefix pattern.

    libphonenumber only calls a number valid when its national significant number fully
    matches the region's general description, so a region whose pattern fits none of the
    digit string's suffixes (national prefix, carrier or country code stripped) cannot
    validate it and its (slow) parse is skipped.
    """
    out = []
    for region in _REGIONS:
        meta = PhoneMetadata.metadata_for_region(region)
        if meta is None or meta.general_desc is None:
            continue
        general = meta.general_desc.national_number_pattern or r"\d+"
        out.append((region, re.compile(general), re.compile(meta.international_prefix or "$^")))
    return tuple(out)


def _candidate_regions(number: str) -> Iterator[str]:
    """Regions among ``_REGIONS`` in which ``number`` could possibly be a valid number."""
    for region, general, intl in _region_filters():
        if intl.match(number) or any(
            general.fullmatch(number, k) for k in range(min(6, len(number)))
        ):
            yield region


_NANP = re.compile(
    r"^(?:(?:\+?1|001)[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?:\s?(?:x|ext\.?)\s?\d+)?$",
    _I,
)
_PHONE_WORDS = _words(
    "phone tel telephone call called calling cell mobile contact fax reach number ph text "
    "whatsapp pager beeper landline hotline dial tel."
)
_FAX = _words("fax facsimile")


class PhoneRecognizer:
    """Phone-shaped runs checked with Google's libphonenumber metadata (phonenumbers)."""

    name = "phone_number"
    entities = frozenset({"PHONE_NUMBER", "FAX_NUMBER"})

    def __init__(self, region: str = "US") -> None:
        self.region = region

    def prefilter_regexes(self) -> list[re.Pattern[str]]:
        return [_PHONE]

    def find(self, doc: Document) -> Iterator[Span]:
        if not doc.has_digit or not doc.may_match(_PHONE):
            return
        text = doc.text
        for match in _PHONE.finditer(text):
            for span in self._run(doc, *match.span()):
                yield span
                yield from self._slash_listed(doc, span)

    def _run(self, doc: Document, start: int, end: int) -> list[Span]:
        """One phone-shaped run; numbers written side by side are cut apart and checked
        one by one (as a whole, "555-201-3344 555-201-3345" is no valid number)."""
        span = self._evaluate(doc, start, end)
        if (span is not None and span.score >= 0.75) or not _has_space(doc.text, start, end):
            return [] if span is None else [span]
        found: dict[tuple[int, int], Span] = {}

        def score(a: int, b: int) -> float:
            # The whole run was evaluated above; ``_evaluate`` is deterministic.
            piece = span if (a, b) == (start, end) else self._evaluate(doc, a, b)
            if piece is None:
                return 0.0
            found[a, b] = piece
            return piece.score

        return [found[a, b] for a, b, _ in split_run(doc.text, start, end, score)]

    def _slash_listed(self, doc: Document, previous: Span) -> Iterator[Span]:
        """ "555-201-3344/555-201-3345": the run after the slash is not seen by ``_PHONE``
        (a slash before digits usually means a path or a date)."""
        text = doc.text
        while text.startswith("/", previous.end):
            match = _PHONE_BODY.match(text, previous.end + 1)
            if match is None:
                return
            spans = self._run(doc, *match.span())
            if not spans or spans[0].start != match.start():
                return
            yield from spans
            previous = spans[-1]

    def _evaluate(self, doc: Document, start: int, end: int) -> Span | None:
        value = doc.text[start:end]
        number = v.digits(value.split("x")[0].split("X")[0].lower().split("ext")[0])
        if not 7 <= len(number) <= 15 or len(set(number)) == 1 or _ISO_PREFIX.match(value):
            return None
        if _SSN_SHAPE.match(value) or (len(number) > 13 and "+" not in value):
            return None
        word = doc.context_hit(_PHONE_WORDS, start, end, 40, 16)
        if word is None and (value.isdigit() or _DECIMAL.match(value)):
            return None  # without a phone word, a bare digit run can never score high enough
        score, why = self._score(value)
        if score <= 0.0:
            return None
        if word is not None:
            score = min(1.0, score + 0.3)
            why += f"; context word '{word}'"
        entity = "FAX_NUMBER" if doc.context_hit(_FAX, start, end, 24, 0) else "PHONE_NUMBER"
        return Span(start, end, entity, round(score, 3), self.name, why)

    def _score(self, value: str) -> tuple[float, str]:
        nanp = _NANP_DIGITS.match(v.digits(_EXTENSION.split(value)[0]))
        if nanp is not None and _NANP.match(value.strip()):
            # North-American shape with valid area/exchange digits: no metadata look-up needed.
            return 0.75, "North-American number shape (NANP area/exchange rules)"
        text = value.strip()
        if text.startswith("001"):
            text = "+1" + text[3:]
        elif text.startswith("00"):
            text = "+" + text[2:]
        try:
            parsed = phonenumbers.parse(text, None if text.startswith("+") else self.region)
        except phonenumbers.NumberParseException:
            return 0.0, ""
        shaped = bool(_NANP.match(value.strip())) or text.startswith("+")
        if phonenumbers.is_valid_number(parsed):
            return (0.85 if shaped else 0.45), "valid number (phonenumbers)"
        if phonenumbers.is_possible_number(parsed) and shaped:
            return 0.6, "phone-shaped, possible length (phonenumbers)"
        grouped = bool(_GROUPED_DIGITS.search(value))
        if not (text.startswith("0") or grouped):
            return (
                (0.3, "possible length (phonenumbers)")
                if phonenumbers.is_possible_number(parsed)
                else (0.0, "")
            )
        if _DATE_LIKE.match(value):
            return 0.0, ""
        for region in _candidate_regions(v.digits(text)):
            try:
                local = phonenumbers.parse(text, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(local):
                return (0.6 if grouped else 0.35), f"valid number in region {region} (phonenumbers)"
        if phonenumbers.is_possible_number(parsed):
            return 0.3, "possible length (phonenumbers)"
        return 0.0, ""

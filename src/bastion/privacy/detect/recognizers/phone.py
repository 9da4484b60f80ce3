"""Phone and fax numbers: phone-shaped runs validated with libphonenumber's metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Protocol, TypeVar

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, SUPPORTED_REGIONS
from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc

from bastion.privacy.detect import validators as v
from bastion.privacy.detect.recognizer import Document, split_run
from bastion.privacy.detect.span import Span

_I = re.IGNORECASE
_GROUPED_DIGITS = re.compile(r"\d[ .-]\d")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: ``\s`` on a str pattern is exactly ``str.isspace`` per character.
_SPACE = re.compile(r"\s")


def _has_space(text: str, start: int, end: int) -> bool:
    return _SPACE.search(text, start, end) is not None


_PHONE_BODY_RE = (
    r"(?=(?:[^\d\n]{0,3}\d){7})"  # at least 7 digits: cheap early reject
    r"(?:(?:\+|00|011|001)[ .-]?\d{1,3}[ .-]?)?(?:\(0?\d{1,4}\)[ .-]?)?\d{1,4}"
    r"(?:[ .-]?\d{2,5}){1,5}(?:\s?(?:x|ext\.?|extension)\s?\d{1,6})?(?![\w-]|[.:]\d)"
)
#: The leading look-ahead is a one-character test that fails fast on most positions.
_PHONE = re.compile(r"(?=[+(\d])(?<![\w+.\-/:])" + _PHONE_BODY_RE, _I)
_PHONE_BODY = re.compile(_PHONE_BODY_RE, _I)
#: Seven digits, each at most three characters (no newline) after the one before: the
#: look-ahead of ``_PHONE_BODY_RE`` puts such a cluster at most three characters after
#: the start of every ``_PHONE`` match.
_CLUSTER = re.compile(r"\d(?:[^\d\n]{0,3}\d){6}")
#: The same for ASCII text (where ``\d`` is [0-9]): a plain class scans faster.
_CLUSTER_ASCII = re.compile(r"[0-9](?:[^0-9\n]{0,3}[0-9]){6}")
_NANP_DIGITS = re.compile(r"^1?[2-9]\d{2}[2-9]\d{6}$")
_EXTENSION = re.compile(r"\s?(?:x|ext\.?|extension)\s?\d", re.IGNORECASE)
_DECIMAL = re.compile(r"^\d+\.\d+$")
_SSN_SHAPE = re.compile(r"^\d{3}([- ])\d{2}\1\d{4}$")
_ISO_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}(?!\d)|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}$")
_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")
_REGIONS = ("GB", "FR", "DE", "IT", "ES", "NL", "IE", "CA", "AU", "IN", "BR")


def _phone_matches(text: str) -> Iterator[re.Match[str]]:
    """Exactly ``_PHONE.finditer(text)``, but stretches without a digit cluster are
    skipped by a cheaper scan: about 4x cheaper on prose, about even on digit-dense text."""
    clusters = _CLUSTER_ASCII if text.isascii() else _CLUSTER
    pos = 0
    while (cluster := clusters.search(text, pos)) is not None:
        match = _PHONE.search(text, max(pos, cluster.start() - 3))
        if match is None:
            return
        yield match
        pos = match.end()


@cache
def _region_filters() -> tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...]:
    """Per region: its general number pattern behind up to 5 skipped characters, and its
    international-prefix pattern.

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
        # fullmatch of this == any(general.fullmatch(number, k) for k < min(6, len(number)))
        suffix = re.compile(r"(?s:.{0,5}(?=.))(?:" + general + ")")
        out.append((region, suffix, re.compile(meta.international_prefix or "$^")))
    return tuple(out)


def _candidate_regions(number: str) -> Iterator[str]:
    """Regions among ``_REGIONS`` in which ``number`` could possibly be a valid number."""
    for region, suffix, intl in _region_filters():
        if intl.match(number) or suffix.fullmatch(number):
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


def _fax_hit(doc: Document, start: int, end: int) -> bool:
    """``doc.context_hit(_FAX, start, end, 24, 0)``: a word it finds is a substring of the
    24 lower-cased characters before ``start``, so most numbers skip the word scan."""
    before = doc.lower[max(0, start - 24) : start]
    if "fax" not in before and "facsimile" not in before:
        return False
    return doc.context_hit(_FAX, start, end, 24, 0) is not None


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
        for match in _phone_matches(doc.text):
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
        if value.isascii() and "x" not in value and "X" not in value:
            number = v.digits(value)  # nothing for the extension cut below to remove
        else:
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
        entity = "FAX_NUMBER" if _fax_hit(doc, start, end) else "PHONE_NUMBER"
        return Span(start, end, entity, round(score, 3), self.name, why)

    def _score(self, value: str) -> tuple[float, str]:
        nanp = _NANP_DIGITS.match(v.digits(_EXTENSION.split(value)[0]))
        if nanp is not None and _NANP.match(value.strip()):
            # North-American shape with valid area/exchange digits: no metadata look-up needed.
            return 0.75, "North-American number shape (NANP area/exchange rules)"
        text = _with_plus(value)
        fast = _FastNumbers.of(text, self.region)
        if fast is not None:
            return _decide(value, text, self.region, fast)
        return _decide(value, text, self.region, _LibraryNumbers(text))


def _with_plus(value: str) -> str:
    """``value`` stripped, its "001" (US exit code) or "00" written as "+"."""
    text = value.strip()
    if text.startswith("001"):
        return "+1" + text[3:]
    if text.startswith("00"):
        return "+" + text[2:]
    return text


_N = TypeVar("_N")


class _Numbers(Protocol[_N]):
    """What ``_decide`` asks of libphonenumber about one text (``_N``: a parsed number)."""

    def parse(self, region: str | None) -> _N | None:
        """The text parsed with ``region`` as default region; None: not a number."""
        ...

    def valid(self, number: _N) -> bool: ...

    def possible(self, number: _N) -> bool: ...


def _decide(value: str, text: str, region: str, numbers: _Numbers[_N]) -> tuple[float, str]:
    """Score of a phone-shaped ``value`` (``text``: stripped, "00"/"001" turned into "+")."""
    parsed = numbers.parse(None if text.startswith("+") else region)
    if parsed is None:
        return 0.0, ""
    shaped = bool(_NANP.match(value.strip())) or text.startswith("+")
    if numbers.valid(parsed):
        return (0.85 if shaped else 0.45), "valid number (phonenumbers)"
    if numbers.possible(parsed) and shaped:
        return 0.6, "phone-shaped, possible length (phonenumbers)"
    grouped = bool(_GROUPED_DIGITS.search(value))
    if not (text.startswith("0") or grouped):
        return (0.3, "possible length (phonenumbers)") if numbers.possible(parsed) else (0.0, "")
    if _DATE_LIKE.match(value):
        return 0.0, ""
    for candidate in _candidate_regions(v.digits(text)):
        local = numbers.parse(candidate)
        if local is not None and numbers.valid(local):
            return (0.6 if grouped else 0.35), f"valid number in region {candidate} (phonenumbers)"
    if numbers.possible(parsed):
        return 0.3, "possible length (phonenumbers)"
    return 0.0, ""


class _LibraryNumbers:
    """phonenumbers itself: the authority, and the path for every text ``_FastNumbers``
    does not cover."""

    def __init__(self, text: str) -> None:
        self.text = text

    def parse(self, region: str | None) -> phonenumbers.PhoneNumber | None:
        try:
            return phonenumbers.parse(self.text, region)
        except phonenumbers.NumberParseException:
            return None

    def valid(self, number: phonenumbers.PhoneNumber) -> bool:
        return bool(phonenumbers.is_valid_number(number))

    def possible(self, number: phonenumbers.PhoneNumber) -> bool:
        return bool(phonenumbers.is_possible_number(number))


# --- libphonenumber's parse / is_valid_number / is_possible_number, replicated -----------
#
# For the texts ``_PHONE`` finds (ASCII digits, "+", "()", " ", ".", "-", an "x"/"ext"
# extension), phonenumbers' parse reduces to: plus sign or not, the digit string, and the
# metadata steps below; each function mirrors the phonenumberutil function of the same
# name with the metadata patterns compiled once.  ``_FastNumbers.of`` returns None for any
# text outside that domain, and tests/privacy/detect/test_phone_speed.py checks every
# answer against phonenumbers on generated texts.

#: The domain: an optional leading "+", digits and punctuation phonenumbers ignores, and an
#: extension phonenumbers strips (its "x" label takes up to 9 digits, "ext" up to 20).
_FAST_SHAPE = re.compile(r"(\+?)([0-9() .\-]*)(?: ?(?:x|ext\.?|extension) ?[0-9]{1,6})?", _I)
_NON_DIGIT = re.compile(r"[^0-9]+")
_MIN_NSN, _MAX_NSN, _MAX_CC = 2, 17, 3
#: phonenumbers' ValidationResult values used here.
_POSSIBLE, _LOCAL_ONLY, _TOO_SHORT, _INVALID_LENGTH, _TOO_LONG = range(5)
_NOT_KEPT = (_TOO_SHORT, _LOCAL_ONLY, _INVALID_LENGTH)
_NON_GEO = "001"


class _ParseError(Exception):
    """phonenumbers would raise NumberParseException (``bad_cc``: INVALID_COUNTRY_CODE)."""

    def __init__(self, bad_cc: bool = False) -> None:
        super().__init__()
        self.bad_cc = bad_cc


@dataclass(frozen=True, slots=True)
class _Desc:
    """A PhoneNumberDesc: possible lengths and the national-number pattern."""

    lengths: tuple[int, ...]
    pattern: re.Pattern[str] | None

    def matches(self, nsn: str) -> bool:
        """phonenumberutil._is_number_matching_desc."""
        if self.lengths and len(nsn) not in self.lengths:
            return False
        return self.pattern is not None and self.pattern.fullmatch(nsn) is not None


def _desc(desc: PhoneNumberDesc | None) -> _Desc | None:
    if desc is None:
        return None
    pattern = desc.national_number_pattern
    return _Desc(tuple(desc.possible_length or ()), re.compile(pattern) if pattern else None)


@dataclass(frozen=True, slots=True)
class _Meta:
    """The parts of one region's PhoneMetadata that parsing and validation read."""

    country_code: int
    general: _Desc
    #: The general pattern alone (``_match_national_number`` skips the length check).
    general_pattern: re.Pattern[str] | None
    local_lengths: tuple[int, ...]
    #: Descs of which any match makes a number valid (``_number_type_helper`` != UNKNOWN).
    types: tuple[_Desc, ...]
    idd: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    transform: str | None
    leading_digits: re.Pattern[str] | None

    def general_match(self, number: str) -> bool:
        """phonenumberutil._match_national_number(number, general_desc, False)."""
        return (
            self.general_pattern is not None and self.general_pattern.fullmatch(number) is not None
        )

    def type_known(self, nsn: str) -> bool:
        """phonenumberutil._number_type_helper(nsn, metadata) != UNKNOWN."""
        if not self.general.matches(nsn):
            return False
        for desc in self.types:  # noqa: SIM110 - no generator object on this hot path
            if desc.matches(nsn):
                return True
        return False

    def length(self, number: str) -> int:
        """phonenumberutil._test_number_length with type UNKNOWN (the general desc)."""
        n = len(number)
        if n in self.local_lengths:
            return _LOCAL_ONLY
        lengths = self.general.lengths
        if lengths[0] == n:
            return _POSSIBLE
        if lengths[0] > n:
            return _TOO_SHORT
        if lengths[-1] < n:
            return _TOO_LONG
        return _POSSIBLE if n in lengths[1:] else _INVALID_LENGTH


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return None if pattern is None else re.compile(pattern)


def _build_meta(meta: PhoneMetadata) -> _Meta:
    general = meta.general_desc
    assert general is not None and meta.country_code is not None
    descs = [
        meta.premium_rate,
        meta.toll_free,
        meta.shared_cost,
        meta.voip,
        meta.personal_number,
        meta.pager,
        meta.uan,
        meta.voicemail,
        meta.fixed_line,
    ]
    if not meta.same_mobile_and_fixed_line_pattern:
        descs.append(meta.mobile)
    pattern = general.national_number_pattern
    return _Meta(
        country_code=meta.country_code,
        general=_Desc(tuple(general.possible_length), _compile(pattern or None)),
        general_pattern=re.compile(pattern) if pattern else None,
        local_lengths=tuple(general.possible_length_local_only or ()),
        types=tuple(d for d in map(_desc, descs) if d is not None),
        idd=_compile(meta.international_prefix),
        national_prefix=_compile(meta.national_prefix_for_parsing or None),
        transform=meta.national_prefix_transform_rule or None,
        leading_digits=_compile(meta.leading_digits),
    )


_METAS: dict[str | int, _Meta | None] = {}


def _region_meta(region: str) -> _Meta | None:
    """PhoneMetadata.metadata_for_region(region), compiled (cached: metadata is static)."""
    if region not in _METAS:
        raw = PhoneMetadata.metadata_for_region(region, None)
        _METAS[region] = None if raw is None else _build_meta(raw)
    return _METAS[region]


def _meta_for(country_code: int, region: str) -> _Meta | None:
    """PhoneMetadata.metadata_for_region_or_calling_code."""
    if region != _NON_GEO:
        return _region_meta(region)
    if country_code not in _METAS:
        raw = PhoneMetadata.metadata_for_nongeo_region(country_code, None)
        _METAS[country_code] = None if raw is None else _build_meta(raw)
    return _METAS[country_code]


def _strip_national_prefix(number: str, meta: _Meta) -> str:
    """phonenumberutil._maybe_strip_national_prefix_carrier_code (the number part)."""
    prefix = meta.national_prefix
    if not number or prefix is None:
        return number
    match = prefix.match(number)
    if match is None:
        return number
    viable = meta.general_match(number)
    groups = match.groups()
    if not meta.transform or groups[len(groups) - 1] is None:
        stripped = number[match.end() :]
    else:
        stripped = prefix.sub(meta.transform, number, count=1)
    if viable and not meta.general_match(stripped):
        return number
    return stripped


def _extract_country_code(plus: bool, digits: str, meta: _Meta | None) -> tuple[int, str]:
    """phonenumberutil._maybe_extract_country_code: (country code or 0, national part)."""
    number, international = digits, plus
    if not plus and meta is not None and meta.idd is not None:
        match = meta.idd.match(digits)
        if match is not None and not digits.startswith("0", match.end()):
            number, international = digits[match.end() :], True
    if international:
        if len(number) <= _MIN_NSN:
            raise _ParseError()
        if number[0] != "0":
            for k in range(1, min(len(number), _MAX_CC) + 1):
                code = int(number[:k])
                if code in COUNTRY_CODE_TO_REGION_CODE:
                    return code, number[k:]
        raise _ParseError(bad_cc=True)
    if meta is not None:
        own = str(meta.country_code)
        if number.startswith(own):
            potential = _strip_national_prefix(number[len(own) :], meta)
            if (not meta.general_match(number) and meta.general_match(potential)) or meta.length(
                number
            ) == _TOO_LONG:
                return meta.country_code, potential
    return 0, ""


def _parse(plus: bool, digits: str, region: str | None) -> tuple[int, str]:
    """phonenumbers.parse: (country code, national significant number) or _ParseError."""
    meta = None if region is None else _region_meta(region)
    if meta is None and not plus:
        raise _ParseError(bad_cc=True)  # _check_region_for_parsing
    try:
        code, national = _extract_country_code(plus, digits, meta)
    except _ParseError as error:
        if not (error.bad_cc and plus):
            raise
        code, national = _extract_country_code(False, digits, meta)
        if code == 0:
            raise
    if code != 0:
        main_region = COUNTRY_CODE_TO_REGION_CODE[code][0]
        if main_region != region:
            meta = _meta_for(code, main_region)
    else:
        assert meta is not None
        national, code = digits, meta.country_code
    if len(national) < _MIN_NSN:
        raise _ParseError()
    if meta is not None:
        potential = _strip_national_prefix(national, meta)
        if meta.length(potential) not in _NOT_KEPT:
            national = potential
    if not _MIN_NSN <= len(national) <= _MAX_NSN:
        raise _ParseError()
    # Leading zeros are kept as italian_leading_zero / number_of_leading_zeros, so the
    # national significant number phonenumbers rebuilds is ``national`` itself.
    return code, national


@dataclass(frozen=True, slots=True)
class _Country:
    """What is_valid_number and is_possible_number read for one country calling code."""

    #: Metadata of the code's main region (``is_possible_number`` tests lengths on it).
    main: _Meta | None
    #: One region: its metadata, provided its country code is this one (else None).
    single: _Meta | None
    #: Several regions (region_code_for_number tries them in order): leading-digits
    #: pattern, metadata, and whether the region's country code is this one.
    shared: tuple[tuple[re.Pattern[str] | None, _Meta, bool], ...]
    #: Lengths a valid number can have (None: some region does not restrict them).
    lengths: frozenset[int] | None


def _build_country(code: int) -> _Country | None:
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
    if regions is None:
        return None
    main = _meta_for(code, regions[0])
    if len(regions) == 1:
        # is_valid_number_for_region checks the region's own code, except for "001".
        own_code = regions[0] == _NON_GEO or (main is not None and main.country_code == code)
        single = main if own_code else None
        metas = [] if single is None else [single]
        shared: tuple[tuple[re.Pattern[str] | None, _Meta, bool], ...] = ()
    else:
        single = None
        shared = tuple(
            (meta.leading_digits, meta, meta.country_code == code)
            for meta in map(_region_meta, regions)
            if meta is not None
        )
        metas = [meta for _, meta, _ in shared]
    sets = [meta.general.lengths for meta in metas]
    lengths = None if not all(sets) else frozenset(n for lens in sets for n in lens)
    return _Country(main, single, shared, lengths)


_COUNTRIES: dict[int, _Country | None] = {}


def _country(code: int) -> _Country | None:
    if code not in _COUNTRIES:
        _COUNTRIES[code] = _build_country(code)
    return _COUNTRIES[code]


def _is_valid(code: int, nsn: str) -> bool:
    """phonenumbers.is_valid_number: region_code_for_number, then is_valid_number_for_region."""
    country = _country(code)
    if country is None or (country.lengths is not None and len(nsn) not in country.lengths):
        return False
    if country.single is not None:
        return country.single.type_known(nsn)
    for leading, meta, own_code in country.shared:
        if leading is not None:
            if leading.match(nsn):
                return own_code and meta.type_known(nsn)
        elif meta.type_known(nsn):
            return own_code
    return False


class _FastNumbers:
    """phonenumbers' answers for one text of the common shape, without phonenumbers."""

    __slots__ = ("digits", "plus")

    def __init__(self, plus: bool, digits: str) -> None:
        self.plus = plus
        self.digits = digits

    @classmethod
    def of(cls, text: str, region: str) -> _FastNumbers | None:
        """None when ``text`` (or ``region``) is outside the replicated domain."""
        if region not in SUPPORTED_REGIONS or not text.isascii() or len(text) > 250:
            return None
        match = _FAST_SHAPE.fullmatch(text)
        if match is None:
            return None
        digits = _NON_DIGIT.sub("", match.group(2))
        if len(digits) < 3:
            return None  # phonenumbers' viability rule; never reached by the recognizer
        return cls(bool(match.group(1)), digits)

    def parse(self, region: str | None) -> tuple[int, str] | None:
        try:
            return _parse(self.plus, self.digits, region)
        except _ParseError:
            return None

    def valid(self, number: tuple[int, str]) -> bool:
        return _is_valid(*number)

    def possible(self, number: tuple[int, str]) -> bool:
        """phonenumbers.is_possible_number."""
        code, nsn = number
        country = _country(code)
        if country is None or country.main is None:
            return False
        return country.main.length(nsn) in (_POSSIBLE, _LOCAL_ONLY)

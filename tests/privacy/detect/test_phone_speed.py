"""The phone recognizer's fast paths answer exactly what their slow references answer.

``_FastNumbers`` replicates phonenumbers' parse / is_valid_number / is_possible_number for
the common phone shapes; ``_phone_matches``, ``_candidate_regions`` and ``_fax_hit`` are
cheaper forms of a regex scan, a region prefilter and a context look-up. Each is checked
against its reference on generated phone-like strings.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from phonenumbers.phonemetadata import PhoneMetadata

from bastion.privacy.detect import validators as v
from bastion.privacy.detect.recognizer import Document
from bastion.privacy.detect.recognizers import phone
from bastion.privacy.detect.recognizers.phone import (
    _FAX,
    _PHONE,
    _REGIONS,
    _candidate_regions,
    _decide,
    _FastNumbers,
    _fax_hit,
    _LibraryNumbers,
    _phone_matches,
    _with_plus,
)

_CODES = ["1", "7", "20", "27", "30", "31", "33", "34", "39", "41", "44", "49", "52", "54"]
_CODES += ["55", "61", "81", "86", "91", "353", "358", "379", "800", "808", "870", "882", "979"]
_TEST_REGIONS = [*_REGIONS, "US", "AR", "JP", "GG", "RU", "KZ", "MX", "CN", "SM", "AG", "IM"]
_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _examples() -> list[str]:
    """Example numbers of every region and type, written the ways people write them."""
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            intl = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
            nsn = phonenumbers.national_significant_number(number)
            out += [
                intl,
                phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
                phonenumbers.format_number(number, PhoneNumberFormat.E164),
                "00" + intl[1:],
                "011 " + intl[1:],
                f"+{number.country_code} (0){nsn}",
                "0" + nsn,
                str(number.country_code) + nsn,
            ]
    return out


def _mutate(text: str, at: int, digit: str, how: int) -> str:
    """One typo: a digit replaced, dropped, doubled, or the text cut after it."""
    places = [i for i, ch in enumerate(text) if ch.isdigit()]
    if not places:
        return text
    i = places[at % len(places)]
    return [
        text[:i] + digit + text[i + 1 :],
        text[:i] + text[i + 1 :],
        text[:i] + digit + text[i:],
        text[: i + 1],
        text,
    ][how]


_GROUP = st.text("0123456789", min_size=1, max_size=5)
_SEP = st.sampled_from(["", " ", "-", ".", " - ", "  "])
_PREFIX = st.sampled_from(
    ["", "", "", "+", "+", "00", "001", "011", "0", "1", "(0)", "(", "+(", "+1 ", "+44 (0)"]
)
_EXT = st.sampled_from(
    ["", "", "", "x12", " x 345", "ext. 7", " extension 1234", "X9", " EXT.42", " ext", "x"]
)


@st.composite
def _grouped(draw: st.DrawFn) -> str:
    """Digit groups with separators, an optional exit or country code and extension."""
    groups = draw(st.lists(_GROUP, min_size=1, max_size=6))
    if draw(st.booleans()):
        groups.insert(0, draw(st.sampled_from(_CODES)))
    if len(groups) > 2 and draw(st.booleans()):
        groups[0] = f"({groups[0]})"
    body = draw(_SEP).join(groups)
    return draw(_PREFIX) + body + draw(_EXT)


@st.composite
def _example_like(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(_examples()))
    mutated = _mutate(
        text, draw(st.integers(0, 20)), draw(st.sampled_from("0123456789")), draw(st.integers(0, 4))
    )
    return mutated + draw(_EXT)


_PHONE_LIKE = st.one_of(
    _grouped(),
    _example_like(),
    st.text("0123456789 +-.()x", min_size=3, max_size=24),
)
_REGION = st.sampled_from(_TEST_REGIONS)


def _library(text: str, region: str | None) -> tuple[int, str, bool, bool] | None:
    numbers = _LibraryNumbers(text)
    parsed = numbers.parse(region)
    if parsed is None:
        return None
    nsn = phonenumbers.national_significant_number(parsed)
    return parsed.country_code, nsn, numbers.valid(parsed), numbers.possible(parsed)


def _fast(fast: _FastNumbers, region: str | None) -> tuple[int, str, bool, bool] | None:
    parsed = fast.parse(region)
    if parsed is None:
        return None
    return parsed[0], parsed[1], fast.valid(parsed), fast.possible(parsed)


@_SETTINGS
@given(_PHONE_LIKE, st.one_of(st.none(), _REGION))
def test_fast_numbers_equal_phonenumbers(value: str, region: str | None) -> None:
    text = _with_plus(value)
    fast = _FastNumbers.of(text, "US")
    if fast is not None:
        assert _fast(fast, region) == _library(text, region), (text, region)


@_SETTINGS
@given(_PHONE_LIKE, _REGION)
def test_fast_decision_equals_phonenumbers_decision(value: str, region: str) -> None:
    text = _with_plus(value)
    fast = _FastNumbers.of(text, region)
    if fast is not None:
        expected = _decide(value, text, region, _LibraryNumbers(text))
        assert _decide(value, text, region, fast) == expected, (value, region)


@pytest.mark.parametrize("region", [None, "US", "GB", "DE", "BR"])
def test_every_example_number_agrees(region: str | None) -> None:
    """Example numbers of every region (and their national forms) in several regions."""
    seen = 0
    for value in _examples():
        text = _with_plus(value)
        fast = _FastNumbers.of(text, "US")
        if fast is None:
            continue
        seen += 1
        assert _fast(fast, region) == _library(text, region), (text, region)
    assert seen > 0.9 * len(_examples())  # the fast path covers the usual ways of writing


def test_fast_path_domain() -> None:
    """Common shapes take the fast path; anything phonenumbers could read differently
    (letters, other scripts, odd spaces, a region it does not know) does not."""
    for text in ("+33 6 22 05 07 36", "0122-9861-9415", "+1-525-392-9086x8927", "(0)7 73 27"):
        assert _FastNumbers.of(text, "US") is not None, text
    for text in (
        "+33 6 22 05 07 36 abc",
        "\u0661\u0662\u0663\u0664\u0665\u0666\u0667",
        "555\u00a0123 4567",
    ):
        assert _FastNumbers.of(text, "US") is None, text
    assert _FastNumbers.of("555-123-4567\tx12", "US") is None
    assert _FastNumbers.of("555-123-4567", "us") is None
    assert _FastNumbers.of("12", "US") is None


_SCAN_TEXT = st.lists(
    _PHONE_LIKE
    | st.sampled_from(["555", "12", "0", "-", " ", ".", "+", "(", ")", "/", ":", "\n", "tel"])
    | st.sampled_from(["Ⅻ", "\u0663\u0664\u0665\u0666", "2024-01-02", "a"])
    | st.text(max_size=3),
    max_size=12,
).map("".join)


@_SETTINGS
@given(_SCAN_TEXT)
def test_phone_matches_equal_finditer(text: str) -> None:
    expected = [m.span() for m in _PHONE.finditer(text)]
    assert [m.span() for m in _phone_matches(text)] == expected


@cache
def _reference_filters() -> list[tuple[str, re.Pattern[str], re.Pattern[str]]]:
    out = []
    for region in _REGIONS:
        meta = PhoneMetadata.metadata_for_region(region)
        assert meta is not None and meta.general_desc is not None
        general = meta.general_desc.national_number_pattern or r"\d+"
        out.append((region, re.compile(general), re.compile(meta.international_prefix or "$^")))
    return out


@_SETTINGS
@given(st.text("0123456789", max_size=18) | _PHONE_LIKE.map(v.digits))
def test_candidate_regions_equal_suffix_loop(number: str) -> None:
    expected = [
        region
        for region, general, intl in _reference_filters()
        if intl.match(number)
        or any(general.fullmatch(number, k) for k in range(min(6, len(number))))
    ]
    assert list(_candidate_regions(number)) == expected


@_SETTINGS
@given(
    st.lists(
        st.sampled_from(["fax", "Fax:", "facsimile", "telefax", "x", " ", "\n", "ok"]), max_size=12
    ).map(" ".join),
    st.integers(0, 40),
)
def test_fax_hit_equals_context_hit(before: str, pad: int) -> None:
    text = before + " " * (pad % 3) + "555-201-3344 end"
    start = text.index("555")
    end = start + 12
    doc = Document(text)
    assert _fax_hit(doc, start, end) == (doc.context_hit(_FAX, start, end, 24, 0) is not None)


def test_recognizer_unchanged_on_samples() -> None:
    """A few end-to-end spans (scores and explanations fixed before the fast paths)."""
    recognizer = phone.PhoneRecognizer()
    found = {
        (s.entity_type, s.score, s.explanation)
        for s in recognizer.find(
            Document("call +33 6 22 05 07 36 or fax 01 70 52 12 06; ref 1248-6515-9831")
        )
    }
    assert found == {
        ("PHONE_NUMBER", 1.0, "valid number (phonenumbers); context word 'call'"),
        ("FAX_NUMBER", 0.9, "valid number in region FR (phonenumbers); context word 'fax'"),
    }

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bastion.core.errors import ConfigError, IntegrityError, SecretError, ValidationError
from bastion.privacy.detect.span import Span
from bastion.privacy.transform import (
    DocumentContext,
    anonymize,
    deanonymize,
    parse_date,
    parse_policy,
)
from tests.privacy.transform.helpers import FakeEngine, spans_of

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def run(text: str, policy: str, key: bytes | None = KEY, **kwargs: object) -> str:
    spans = FakeEngine().analyze(text)
    return anonymize(text, spans, parse_policy(policy), key=key, **kwargs).text  # type: ignore[arg-type]


def test_three_space_separated_emails_are_all_replaced() -> None:
    text = "Contact a.b@example.com c.d@corp.org e_f@mail.net today"
    spans = FakeEngine().analyze(text)
    assert len(spans) == 3
    for policy in (
        "default: replace",
        "default: redact",
        "default: mask",
        "default: pseudonymize",
        "default: surrogate",
        "default: encrypt",
    ):
        out = anonymize(text, spans, parse_policy(policy), key=KEY).text
        for value in ("a.b@example.com", "c.d@corp.org", "e_f@mail.net"):
            assert value not in out, policy
        assert out.startswith("Contact ") and out.endswith(" today")


def test_numbered_replacement_is_consistent_within_a_document() -> None:
    text = "Dr. Ann Lee saw Mr. Bob Ray; later Dr. Ann Lee called Mr. Bob Ray and Ms. Cy Oz."
    out = run(text, "default: replace")
    assert out == (
        "Dr. <PERSON_1> saw Mr. <PERSON_2>; later Dr. <PERSON_1> called Mr. <PERSON_2> and "
        "Ms. <PERSON_3>."
    )
    # Case and whitespace variants of one value get the same number.
    text2 = "Mail X@Example.com then x@example.com"
    spans = spans_of(text2, "EMAIL_ADDRESS", "X@Example.com", "x@example.com")
    assert anonymize(text2, spans).text == "Mail <EMAIL_ADDRESS_1> then <EMAIL_ADDRESS_1>"


def test_unnumbered_and_fixed_replacement() -> None:
    text = "SSN 123-45-6789 and 987-65-4321"
    assert run(text, "default: {operator: replace, numbered: false}") == "SSN <US_SSN> and <US_SSN>"
    assert run(text, "default: {operator: replace, value: '[x]'}") == "SSN [x] and [x]"


def test_shared_context_numbers_across_documents() -> None:
    context = DocumentContext()
    first = anonymize("a@x.io", [Span(0, 6, "EMAIL_ADDRESS", 1)], context=context)
    second = anonymize(
        "b@x.io a@x.io",
        spans_of("b@x.io a@x.io", "EMAIL_ADDRESS", "b@x.io", "a@x.io"),
        context=context,
    )
    assert first.text == "<EMAIL_ADDRESS_1>"
    assert second.text == "<EMAIL_ADDRESS_2> <EMAIL_ADDRESS_1>"


def test_mask_keeps_last_k_but_never_more_than_half() -> None:
    assert run("SSN 123-45-6789", "default: {operator: mask, keep_last: 4}") == "SSN *******6789"
    assert (
        run(
            "SSN 123-45-6789",
            "default: {operator: mask, keep_last: 4, keep_separators: true, masking_char: '#'}",
        )
        == "SSN ###-##-6789"
    )
    out = anonymize(
        "id ab",
        [Span(3, 5, "ID_NUMBER", 1)],
        parse_policy("default: {operator: mask, keep_last: 4}"),
    )
    assert out.text == "id *b"


def test_pseudonyms_are_stable_under_a_key_and_unlinkable_across_keys() -> None:
    text = "Write to jane@example.com or JANE@example.com"
    first = run(text, "default: pseudonymize")
    again = run(text, "default: pseudonymize")
    other = run(text, "default: pseudonymize", key=OTHER_KEY)
    digests = re.findall(r"<EMAIL_ADDRESS:([0-9a-f]{16})>", first)
    other_digests = re.findall(r"<EMAIL_ADDRESS:([0-9a-f]{16})>", other)
    assert first == again
    assert len(set(digests)) == 1  # normalized: case does not matter
    assert set(digests).isdisjoint(other_digests)


def test_pseudonyms_are_reproducible_in_another_process() -> None:
    code = (
        "from bastion.privacy.transform import anonymize, parse_policy;"
        "from bastion.privacy.detect.span import Span;"
        f"print(anonymize('jane@example.com', [Span(0, 16, 'EMAIL_ADDRESS', 1)], "
        f"parse_policy('default: pseudonymize'), key={KEY!r}).text)"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    ).stdout.strip()
    here = anonymize(
        "jane@example.com",
        [Span(0, 16, "EMAIL_ADDRESS", 1)],
        parse_policy("default: pseudonymize"),
        key=KEY,
    ).text
    assert other == here


def test_keyed_operators_refuse_to_run_without_a_key_or_with_a_short_one() -> None:
    for operator in ("pseudonymize", "surrogate", "encrypt", "date_shift"):
        with pytest.raises(ConfigError, match=operator):
            run("SSN 123-45-6789", f"default: {operator}", key=None)
    with pytest.raises(SecretError):
        run("SSN 123-45-6789", "default: pseudonymize", key=b"short")


def test_surrogates_are_consistent_shaped_and_deterministic() -> None:
    text = (
        "Dr. Ann Lee (ann.lee@hospital.org, 555-123-4567, SSN 123-45-6789) saw Mr. Bob Ray. "
        "Dr. Ann Lee called 555-123-4567 again."
    )
    out = run(text, "default: surrogate")
    assert out == run(text, "default: surrogate")
    assert out != run(text, "default: surrogate", key=OTHER_KEY)
    for original in (
        "Ann",
        "Lee",
        "Bob",
        "Ray",
        "ann.lee@hospital.org",
        "555-123-4567",
        "123-45-6789",
    ):
        assert original not in out
    phones = re.findall(r"\b\d{3}-\d{3}-\d{4}\b", out)
    assert len(phones) == 2 and phones[0] == phones[1]
    ssn = re.search(r"SSN (\d{3})-(\d{2})-(\d{4})", out)
    assert ssn is not None and ssn.group(1).startswith("9") and ssn.group(2) == "00"
    email = re.search(r"[\w.]+@(example\.(?:com|org|net))", out)
    assert email is not None
    names = re.findall(r"(?:Dr|Mr)\. ([A-Z][a-z]+(?: [A-Z][a-z]+)*)", out)
    assert len(names) == 3 and names[0] == names[2] and names[0] != names[1]


def test_surrogate_age_keeps_safe_harbor_top_code() -> None:
    text = "aged 93 and 42"
    spans = spans_of(text, "AGE", "93", "42")
    out = anonymize(text, spans, parse_policy("default: surrogate"), key=KEY).text
    match = re.fullmatch(r"aged 90\+ and (\d+)", out)
    assert match is not None and 40 <= int(match.group(1)) <= 49 and match.group(1) != "42"


def test_encryption_round_trips_and_fails_with_wrong_key() -> None:
    text = "Patient Mr. Bob Ray, SSN 123-45-6789, mail bob@ray.com"
    spans = FakeEngine().analyze(text)
    result = anonymize(text, spans, parse_policy("default: encrypt"), key=KEY)
    assert "Bob" not in result.text and "123-45-6789" not in result.text
    assert deanonymize(result, KEY) == text
    assert deanonymize(result.text, KEY) == text
    with pytest.raises(IntegrityError):
        deanonymize(result, OTHER_KEY)
    tampered = result.text.replace("<ENC:US_SSN:", "<ENC:PERSON:")
    with pytest.raises(IntegrityError):
        deanonymize(tampered, KEY)


def test_randomized_encryption_differs_but_still_decrypts() -> None:
    text = "SSN 123-45-6789"
    policy = "default: {operator: encrypt, deterministic: false}"
    first, second = run(text, policy), run(text, policy)
    assert first != second
    assert deanonymize(first, KEY) == deanonymize(second, KEY) == text
    assert run(text, "default: encrypt") == run(text, "default: encrypt")


def test_date_shift_preserves_intervals_and_formats_per_person() -> None:
    text = "Admitted 03/01/2023, discharged 2023-03-15, follow-up March 29th, 2023."
    spans = spans_of(text, "DATE_TIME", "03/01/2023", "2023-03-15", "March 29th, 2023")
    policy = parse_policy("default: {operator: date_shift, max_days: 200}")
    out = anonymize(text, spans, policy, key=KEY, person_id="patient-7").text
    match = re.fullmatch(
        r"Admitted (\d\d/\d\d/\d{4}), discharged (\d{4}-\d\d-\d\d), "
        r"follow-up ([A-Z][a-z]+ \d+(?:st|nd|rd|th), \d{4})\.",
        out,
    )
    assert match is not None, out
    dates = [parse_date(match.group(i)) for i in (1, 2, 3)]
    assert all(d is not None for d in dates)
    values = [d.value for d in dates if d is not None]
    assert (values[1] - values[0]).days == 14 and (values[2] - values[1]).days == 14
    original = parse_date("03/01/2023")
    assert original is not None
    offset = (values[0] - original.value).days
    assert offset != 0 and abs(offset) <= 200
    # Same person in another note: same offset.  Another person: (almost surely) another.
    again = anonymize(
        "seen 2023-03-15",
        spans_of("seen 2023-03-15", "DATE_TIME", "2023-03-15"),
        policy,
        key=KEY,
        person_id="patient-7",
    ).text
    assert again == f"seen {match.group(2)}"
    offsets = set()
    for person in range(6):
        shifted = anonymize(
            "2023-03-15", [Span(0, 10, "DATE_TIME", 1)], policy, key=KEY, person_id=f"p{person}"
        ).text
        parsed = parse_date(shifted)
        assert parsed is not None
        offsets.add(parsed.value.toordinal())
    assert len(offsets) > 1


def test_unparseable_dates_fall_back_to_a_placeholder() -> None:
    out = anonymize(
        "on the ides", [Span(7, 11, "DATE_TIME", 1)], parse_policy("default: date_shift"), key=KEY
    )
    assert out.text == "on the <DATE_TIME_1>"


def test_generalize_ages_dates_and_zips() -> None:
    text = "age 93, age 42, born 1950-02-03, zip 02139, zip 03601, zip abc"
    spans = sorted(
        spans_of(text, "AGE", "93", "42")
        + spans_of(text, "DATE_OF_BIRTH", "1950-02-03")
        + spans_of(text, "ZIP_CODE", "02139", "03601", "abc")
    )
    policy = parse_policy(
        "entities: {AGE: generalize, DATE_OF_BIRTH: generalize, ZIP_CODE: generalize}"
    )
    out = anonymize(text, spans, policy).text
    assert out == "age 90+, age 40-49, born 1950, zip 021XX, zip 000XX, zip <ZIP_CODE_1>"


def test_overlapping_or_out_of_range_spans_are_refused() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        anonymize("abcdef", [Span(0, 3, "PERSON", 1), Span(2, 5, "PERSON", 1)])
    with pytest.raises(ValidationError, match="outside"):
        anonymize("abc", [Span(1, 9, "PERSON", 1)])


def test_context_and_key_are_exclusive() -> None:
    with pytest.raises(ConfigError):
        anonymize("x", [], key=KEY, context=DocumentContext())


def test_replacement_offsets_point_into_the_output() -> None:
    text = "Dr. Ann Lee: 555-123-4567"
    result = anonymize(
        text, FakeEngine().analyze(text), parse_policy("default: pseudonymize"), key=KEY
    )
    assert [result.text[i.start : i.end][:8] for i in result.items] == ["<PERSON:", "<PHONE_N"]
    assert [(i.source_start, i.source_end) for i in result.items] == [(4, 11), (13, 25)]
    assert "Ann" not in repr(result)

"""Each recognizer family: positives and hard negatives."""

from __future__ import annotations

import pytest

from bastion.privacy.detect import default_engine


def found(text: str, entity: str | None = None) -> list[tuple[str, str]]:
    spans = default_engine().analyze(text)
    return [
        (text[s.start : s.end], s.entity_type) for s in spans if entity in (None, s.entity_type)
    ]


@pytest.mark.parametrize(
    ("text", "value", "entity"),
    [
        (
            "Contact: jane.doe+tag@example.co.uk today",
            "jane.doe+tag@example.co.uk",
            "EMAIL_ADDRESS",
        ),
        ("SSN 536-90-4399 on file", "536-90-4399", "US_SSN"),
        ("ITIN 912-70-1234 issued", "912-70-1234", "US_ITIN"),
        ("Visa 4111 1111 1111 1111 exp 10/27", "4111 1111 1111 1111", "CREDIT_CARD"),
        ("Wire to GB82 WEST 1234 5698 7654 32 please", "GB82 WEST 1234 5698 7654 32", "IBAN_CODE"),
        ("from 192.168.10.4 port 22", "192.168.10.4", "IP_ADDRESS"),
        ("peer 2001:db8::8a2e:370:7334 up", "2001:db8::8a2e:370:7334", "IP_ADDRESS"),
        ("nic 00:1A:2B:3C:4D:5E down", "00:1A:2B:3C:4D:5E", "MAC_ADDRESS"),
        ("see https://example.org/a?b=1.", "https://example.org/a?b=1", "URL"),
        ("Call me at (415) 555-0132 tomorrow", "(415) 555-0132", "PHONE_NUMBER"),
        ("Fax: 212-555-0199", "212-555-0199", "FAX_NUMBER"),
        ("Passport number 512345678 was scanned", "512345678", "US_PASSPORT"),
        ("Driver's license D1234567 expired", "D1234567", "US_DRIVER_LICENSE"),
        ("MRN: 00482913 admitted", "00482913", "MEDICAL_RECORD_NUMBER"),
        ("Member ID XKJ123456789 verified", "XKJ123456789", "HEALTH_PLAN_ID"),
        ("Account number 0012345678 frozen", "0012345678", "ACCOUNT_NUMBER"),
        ("Pacemaker serial number PM-8832991 ok", "PM-8832991", "DEVICE_ID"),
        ("VIN 1HGCM82633A004352 recorded", "1HGCM82633A004352", "VEHICLE_ID"),
        ("DOB: 03/14/1985.", "03/14/1985", "DATE_OF_BIRTH"),
        ("Seen on March 3, 2021 for review", "March 3, 2021", "DATE_TIME"),
        ("She is a 93-year-old widow", "93", "AGE"),
        (
            "Lives at 42 Elm Street, Springfield, IL 62704.",
            "42 Elm Street, Springfield, IL 62704",
            "STREET_ADDRESS",
        ),
        ("Patient Maria Gonzalez reports pain", "Maria Gonzalez", "PERSON"),
        ("She moved to Chicago last year", "Chicago", "LOCATION"),
        ("He works for Acme Widgets LLC now", "Acme Widgets LLC", "ORGANIZATION"),
        ("a Catholic priest", "Catholic", "NRP"),
    ],
)
def test_positive(text: str, value: str, entity: str) -> None:
    assert (value, entity) in found(text)


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Reference 000-12-3456 and 666-45-1234 and 912-00-1234", "US_SSN"),
        ("card 4111 1111 1111 1112 declined", "CREDIT_CARD"),
        ("Version 1.2.3 released, and 999.1.1.1 is not an address", "IP_ADDRESS"),
        ("Dr. will see you shortly.", "PERSON"),
        ("Will the results be ready? May we call? Hope this helps.", "PERSON"),
        ("2023-01-01 12:00:01 ERROR worker-3 Failed: Connection refused (retry 3/5)", "PERSON"),
        ("INFO 200 GET /api/v1/users 12ms\nWARN Timeout 5000 ms; Retry 3 of 5", "PERSON"),
        ("Order 48213 shipped; 123456789 units", "US_SSN"),
        ("Please read the public library policy ABC1234567", "US_DRIVER_LICENSE"),
        ("build 1.4.27 deployed", "DATE_TIME"),
    ],
)
def test_hard_negative(text: str, entity: str) -> None:
    assert found(text, entity) == []


def test_three_space_separated_emails_are_three_spans() -> None:
    text = "a.b@example.com c.d@example.org e.f@example.net"
    assert found(text) == [
        ("a.b@example.com", "EMAIL_ADDRESS"),
        ("c.d@example.org", "EMAIL_ADDRESS"),
        ("e.f@example.net", "EMAIL_ADDRESS"),
    ]


def test_context_matches_whole_tokens_only() -> None:
    # "lic" is a context word for licences, but must not fire inside "public".
    assert found("public 48213977", "US_DRIVER_LICENSE") == []
    assert found("lic 48213977", "US_DRIVER_LICENSE") == [("48213977", "US_DRIVER_LICENSE")]


def test_age_over_89_is_flagged() -> None:
    spans = default_engine().analyze("a 97 year old man")
    age = [s for s in spans if s.entity_type == "AGE"]
    assert age and "Safe Harbor" in age[0].explanation


def test_numbers_alone_are_never_people() -> None:
    assert found("12 34 5678 9012 3.14 0x1F 2024", "PERSON") == []

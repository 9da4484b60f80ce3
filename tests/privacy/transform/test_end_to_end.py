"""The operators on spans from the real detection engine."""

from __future__ import annotations

from bastion.privacy.detect import default_engine
from bastion.privacy.transform import deanonymize, deidentify_text, parse_policy

KEY = bytes(range(32))


def test_presidio_three_emails_case_with_the_real_engine() -> None:
    text = "Send it to alice@example.com bob@example.org carol@example.net please"
    result = deidentify_text(text, engine=default_engine())
    for value in ("alice@example.com", "bob@example.org", "carol@example.net"):
        assert value not in result.text
    assert result.text == (
        "Send it to <EMAIL_ADDRESS_1> <EMAIL_ADDRESS_2> <EMAIL_ADDRESS_3> please"
    )


def test_clinical_note_round_trip_and_determinism() -> None:
    text = (
        "Patient John Smith (MRN 4455667) called 555-123-4567 on 2023-04-05 "
        "from john.smith@gmail.com."
    )
    engine = default_engine()
    encrypted = deidentify_text(text, parse_policy("default: encrypt"), engine=engine, key=KEY)
    assert "John Smith" not in encrypted.text and "555-123-4567" not in encrypted.text
    assert deanonymize(encrypted, KEY) == text
    policy = parse_policy("default: surrogate")
    first = deidentify_text(text, policy, engine=engine, key=KEY).text
    assert first == deidentify_text(text, policy, engine=engine, key=KEY).text
    assert "John" not in first and "john.smith@gmail.com" not in first

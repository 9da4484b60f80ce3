from __future__ import annotations

from pathlib import Path

import pytest

from bastion.core.errors import ConfigError, ValidationError
from bastion.privacy.transform import Mask, Pseudonymize, Replace, load_policy, parse_policy


def test_shorthand_and_parameters(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "default: redact\n"
        "entities:\n"
        "  EMAIL_ADDRESS: {operator: pseudonymize, length: 12}\n"
        "  US_SSN:\n"
        "    operator: mask\n"
        "    keep_last: 2\n"
        "custom_entities: [EMPLOYEE_ID]\n",
        encoding="utf-8",
    )
    policy = load_policy(path)
    assert policy.default.operator == "redact"
    assert policy.for_entity("EMAIL_ADDRESS") == Pseudonymize(length=12)
    assert policy.for_entity("US_SSN") == Mask(keep_last=2)
    assert policy.for_entity("PERSON").operator == "redact"
    assert policy.needs_key
    assert parse_policy("").default == Replace()
    assert not parse_policy("").needs_key


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("entities:\n  PERSON: surrogat\n", 2, "entities.PERSON.operator", "unknown operator"),
        ("entities:\n  PERSONN: redact\n", 2, "entities.PERSONN", "unknown entity type"),
        (
            "default: redact\nentities:\n  US_SSN:\n    operator: mask\n    keep_lst: 3\n",
            5,
            "entities.US_SSN.keep_lst",
            "unknown field",
        ),
        (
            "entities:\n  US_SSN:\n    operator: mask\n    keep_last: -1\n",
            4,
            "entities.US_SSN.keep_last",
            "greater than or equal",
        ),
        ("entities:\n  PERSON: generalize\n", 2, "entities.PERSON", "generalize applies only"),
        ("default: generalize\n", 1, "default", "cannot be the default"),
        ("\nverbose: true\n", 2, "verbose", "unknown field"),
        (
            "entities:\n  EMAIL_ADDRESS: {operator: pseudonymize, template: '<{name}>'}\n",
            2,
            "entities.EMAIL_ADDRESS.template",
            "digest",
        ),
    ],
)
def test_errors_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_policy(path)
    error = caught.value
    assert error.file == str(path)
    assert error.line == line
    assert error.field == field
    assert message in str(error)


def test_custom_entities_must_be_declared() -> None:
    with pytest.raises(ValidationError):
        parse_policy("entities: {EMPLOYEE_ID: redact}")
    assert parse_policy("entities: {EMPLOYEE_ID: redact}\ncustom_entities: [EMPLOYEE_ID]")
    with pytest.raises(ValidationError, match="UPPER_SNAKE_CASE"):
        parse_policy("custom_entities: [employee-id]")


def test_unreadable_or_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_policy(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"default: \xff\xfe\n")
    with pytest.raises(ValidationError, match="UTF-8"):
        load_policy(binary)
    broken = tmp_path / "broken.yaml"
    broken.write_text("default: [redact\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_policy(broken)
    assert caught.value.line is not None
    with pytest.raises(ValidationError, match="mapping"):
        parse_policy("- redact\n")

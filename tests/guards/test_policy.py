"""YAML policy: the default loads; every mistake is reported with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.core.errors import ConfigError, ValidationError
from bastion.guards import GUARD_KINDS, GuardChain, load_chain


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_policy_has_input_and_output_chains(default_chain: GuardChain) -> None:
    assert [g.kind for g in default_chain.input_guards][:2] == ["length", "unicode"]
    assert "prompt-injection" in {g.kind for g in default_chain.input_guards}
    assert {"pii", "harmful", "leakage", "json-schema"} <= {
        g.kind for g in default_chain.output_guards
    }


def test_custom_policy_builds(tmp_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text('{"type": "object"}')
    path = write(
        tmp_path,
        "version: 1\nstop_on_block: false\ninput:\n  - guard: length\n    max_chars: 10\n"
        "  - guard: secrets\n    action: block\n    name: secrets-strict\n"
        "output:\n  - guard: json-schema\n    schema_file: s.json\n",
    )
    chain = load_chain(path)
    assert chain.stop_on_block is False
    assert chain.scan_input("x" * 11).blocked
    assert chain.scan_output("[]").blocked
    assert not chain.scan_output("{}").blocked


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (
            "input:\n  - guard: length\n    max_chars: -5\n",
            3,
            "input[0].max_chars",
            "greater than or equal",
        ),
        ("input:\n  - guard: lenght\n", 2, "input[0].guard", "unknown guard"),
        ("input:\n  - guard: length\n    colour: red\n", 3, "input[0].colour", "Extra inputs"),
        (
            "output:\n  - guard: pii\n  - guard: harmful\n    categories:\n      weather: block\n",
            5,
            "output[1].categories.weather",
            "Input should be",
        ),
        (
            "input:\n  - guard: prompt-injection\n    action: redact\n    use_classifier: false\n",
            3,
            "input[0].action",
            "cannot redact",
        ),
        ("input:\n  - guard: secrets\n  - guard: secrets\n", 3, "input[1]", "duplicate guard name"),
        ("inputs:\n  - guard: secrets\n", 1, "inputs", "unknown key"),
        ("version: 2\n", 1, "version", "unsupported policy version"),
        ("input:\n  guard: secrets\n", 1, "input", "must be a list"),
        (
            "input:\n  - guard: secrets\n    action: block\n    action: flag\n",
            4,
            "input[0].action",
            "duplicate key",
        ),
    ],
)
def test_policy_errors_name_file_line_field(
    tmp_path: Path, text: str, line: int, field: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValidationError) as info:
        load_chain(path)
    error = info.value
    assert error.file == str(path)
    assert error.line == line, str(error)
    assert error.field == field, str(error)
    assert message in str(error)


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    path = write(tmp_path, "input:\n  - guard: [unclosed\n")
    with pytest.raises(ValidationError) as info:
        load_chain(path)
    assert info.value.line is not None and info.value.file == str(path)


def test_missing_and_non_utf8_policy(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_chain(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"input: \xff\n")
    with pytest.raises(ValidationError, match="not UTF-8"):
        load_chain(bad)


def test_missing_schema_file(tmp_path: Path) -> None:
    path = write(tmp_path, "output:\n  - guard: json-schema\n    schema_file: nope.json\n")
    with pytest.raises(ValidationError) as info:
        load_chain(path)
    assert info.value.field == "output[0].schema_file"


def test_every_kind_constructible_from_yaml(tmp_path: Path) -> None:
    body = "".join(f"  - guard: {kind}\n" for kind in GUARD_KINDS)
    chain = load_chain(write(tmp_path, "input:\n" + body))
    assert [g.kind for g in chain.input_guards] == list(GUARD_KINDS)

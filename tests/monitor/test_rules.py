"""Alert rules: the defaults load; every mistake names file, line and field."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.core.errors import ValidationError
from bastion.monitor import load_rules, parse_rules


def test_built_in_rules_load() -> None:
    rules = load_rules(None)
    names = {rule.name for rule in rules}
    assert {"credential-stuffing", "model-extraction", "injection-campaign"} <= names
    stuffing = next(r for r in rules if r.name == "credential-stuffing")
    assert stuffing.subject_kind == "client" and stuffing.window.total_seconds() == 300
    assert stuffing.fires(20) and not stuffing.fires(19)


HEAD = "rules:\n  - name: a\n    metric: requests\n    window: 5m\n    threshold: 1\n"


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (
            "rules:\n  - name: a\n    metric: nope\n    window: 5m\n    threshold: 1\n",
            3,
            "rules[0].metric",
            "unknown metric",
        ),
        (
            "rules:\n  - name: a\n    metric: requests\n    window: soon\n    threshold: 1\n",
            4,
            "rules[0].window",
            "30s",
        ),
        (
            "rules:\n  - name: a\n    metric: requests\n    window: 5m\n    threshold: high\n",
            5,
            "rules[0].threshold",
            "a number",
        ),
        (
            HEAD + "    colour: red\n",
            6,
            "rules[0].colour",
            "unknown field",
        ),
        (
            "rules:\n  - name: a\n    metric: requests\n    window: 5m\n",
            2,
            "rules[0].threshold",
            "required",
        ),
        (
            HEAD + "    severity: dire\n",
            6,
            "rules[0].severity",
            "one of",
        ),
        (
            HEAD + "    playbook: [nuke]\n",
            6,
            "rules[0].playbook",
            "unknown action",
        ),
    ],
)
def test_errors_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError, match=message) as caught:
        load_rules(path)
    assert caught.value.file == str(path)
    assert caught.value.line == line
    assert caught.value.field == field


def test_structure_errors(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not valid YAML") as caught:
        parse_rules("rules: [\n", "r.yaml")
    assert caught.value.line is not None
    with pytest.raises(ValidationError, match="must be a list"):
        parse_rules("rules: {}\n")
    with pytest.raises(ValidationError, match="duplicate rule name"):
        parse_rules("rules:\n" + "  - {name: a, metric: requests, window: 1m, threshold: 1}\n" * 2)
    with pytest.raises(ValidationError, match="not found"):
        load_rules(tmp_path / "missing.yaml")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_is_rules_or_a_validation_error(text: str) -> None:
    with contextlib.suppress(ValidationError):
        parse_rules(text)


@pytest.mark.parametrize("text", ["...: 1", "...", "rules: [...]", "? !!int x\n: 1"])
def test_odd_scalars_are_values_or_validation_errors(text: str) -> None:
    """Found by hypothesis: "..." as a key once raised a raw YAML ParserError."""
    with contextlib.suppress(ValidationError):
        parse_rules(text)

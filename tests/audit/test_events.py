"""Event validation and the canonical encoding."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.audit.events import EventInput, canonical_json, event_hash, prepare
from bastion.core.errors import ValidationError
from bastion.core.timeutil import isoformat, utcnow

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_canonical_json_is_a_fixed_point(details: dict[str, Any]) -> None:
    text = canonical_json(details)
    assert canonical_json(json.loads(text)) == text
    assert text.isascii()
    assert "\x1f" not in text


@pytest.mark.parametrize(
    ("details", "fragment"),
    [
        ({"raw": b"bytes"}, "bytes"),
        ({"when": object()}, "object"),
        ({"x": math.nan}, "finite"),
        ({"x": {1: "int key"}}, "non-string key"),
        ({"nested": [1, {"s": {1, 2}}]}, "set"),
    ],
)
def test_non_json_details_are_refused(details: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        canonical_json(details)
    assert caught.value.field == "details"
    assert fragment in str(caught.value)


def test_oversized_details_are_refused() -> None:
    with pytest.raises(ValidationError, match="exceed"):
        canonical_json({"blob": "x" * 70_000})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("principal", ""),
        ("principal", "a" * 300),
        ("action", "read\nforged line"),
        ("resource", "dataset:\x1fsplit"),
        ("outcome", "allow\u202e"),
        ("principal", 42),
    ],
)
def test_bad_text_fields_are_refused_by_name(field: str, value: object) -> None:
    fields: dict[str, Any] = {
        "principal": "alice",
        "action": "read",
        "resource": "dataset:x",
        "outcome": "allow",
    }
    fields[field] = value
    with pytest.raises(ValidationError) as caught:
        prepare(EventInput(**fields), isoformat(utcnow()))
    assert caught.value.field == field


def test_hash_covers_every_field_and_the_previous_hash() -> None:
    base = ("id", "2024-01-01T00:00:00.000000Z", "p", "a", "r", "o", "{}", bytes(32))
    reference = event_hash(*base)
    for position in range(len(base) - 1):
        changed = list(base)
        changed[position] = str(changed[position]) + "x"
        assert event_hash(*changed) != reference  # type: ignore[arg-type]
    assert event_hash(*base[:-1], b"\x01" * 32) != reference
    # Moving text across a field boundary changes the hash too.
    assert event_hash("id", base[1], "pa", "", "r", "o", "{}", bytes(32)) != event_hash(
        "id", base[1], "p", "a", "r", "o", "{}", bytes(32)
    )


def test_batch_ids_are_random_version_4_uuids() -> None:
    import uuid

    from bastion.audit.events import random_uuid4s

    ids = random_uuid4s(500)
    assert len(set(ids)) == 500
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert random_uuid4s(0) == []

"""Resource and action pattern semantics, including the keyMatch prefix pitfalls."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.access.patterns import (
    BUILTIN_ACTIONS,
    action_matches,
    action_pattern_problem,
    resource_matches,
    resource_pattern_problem,
    resource_problem,
)


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("dataset:clinical/notes", True),
        ("dataset:clinical/notes/2024", True),
        ("dataset:clinical", False),  # the collection itself is not "below" it
        ("dataset:clinical-other/x", False),
        ("dataset:clinicalx", False),
        ("dataset:clinicalx/notes", False),
        ("model:clinical/notes", False),  # other kind
        ("datasetx:clinical/notes", False),
    ],
)
def test_trailing_star_matches_whole_segments_below(resource: str, expected: bool) -> None:
    assert resource_problem(resource) is None
    assert resource_matches(resource, "dataset:clinical/*") is expected


def test_inner_star_is_exactly_one_segment() -> None:
    pattern = "model:*/production"
    assert resource_matches("model:sentiment/production", pattern)
    assert not resource_matches("model:a/b/production", pattern)
    assert not resource_matches("model:sentiment/production/x", pattern)
    assert not resource_matches("model:production", pattern)


def test_kind_star_and_global_star() -> None:
    assert resource_matches("dataset:a", "dataset:*")
    assert resource_matches("dataset:a/b/c", "dataset:*")
    assert not resource_matches("model:a", "dataset:*")
    assert resource_matches("model:a/b", "*")


def test_exact_pattern_matches_only_itself() -> None:
    assert resource_matches("dataset:clinical/notes", "dataset:clinical/notes")
    assert not resource_matches("dataset:clinical/notes/x", "dataset:clinical/notes")
    assert not resource_matches("dataset:clinical/note", "dataset:clinical/notes")


@pytest.mark.parametrize(
    "pattern",
    [
        "dataset:clinical*",
        "dataset:clin*al/x",
        "dataset:*x",
        "*:x",
        "dataset",
        "dataset:a//b",
        "dataset:a/../b",
        "Dataset:a",
        "dataset:a b",
        "",
    ],
)
def test_bad_resource_patterns_are_refused(pattern: str) -> None:
    assert resource_pattern_problem(pattern) is not None


@pytest.mark.parametrize(
    "resource",
    [
        "dataset:clinical/../finance",
        "dataset:clinical/./x",
        "dataset:clinical/",
        "dataset:/x",
        "dataset:*",
        "dataset:a/*",
        "clinical",
        "dataset:a\nb",
        "dataset:" + "a" * 600,
    ],
)
def test_request_resources_must_be_concrete_and_normal(resource: str) -> None:
    assert resource_problem(resource) is not None


def test_action_patterns() -> None:
    assert action_pattern_problem("dataset:read", BUILTIN_ACTIONS) is None
    assert action_pattern_problem("*", BUILTIN_ACTIONS) is None
    assert action_pattern_problem("dataset:*", BUILTIN_ACTIONS) is None
    assert action_pattern_problem("dataset:raed", BUILTIN_ACTIONS) is not None  # typo
    assert action_pattern_problem("data*", BUILTIN_ACTIONS) is not None
    assert action_pattern_problem("nothing:*", BUILTIN_ACTIONS) is not None
    assert action_matches("dataset:read", "dataset:*")
    assert not action_matches("datasetx:read", "dataset:*")
    assert not action_matches("dataset:read", "dataset:write")
    assert action_matches("predict", "*")
    assert not action_matches("predict", "")


# Property: the segment matcher agrees with an independent regular-expression translation.

_SEG = st.sampled_from(["a", "b", "ab", "a-b", "x.1"])
_KIND = st.sampled_from(["dataset", "model"])


def _reference(resource: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    kind, _, path = pattern.partition(":")
    parts = path.split("/")
    regex = [re.escape(kind) + ":"]
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if index:
            regex.append("/")
        if part == "*":
            regex.append("[^/]+(/[^/]+)*" if last else "[^/]+")
        else:
            regex.append(re.escape(part))
    return re.fullmatch("".join(regex), resource) is not None


@given(
    kind=_KIND,
    resource_segments=st.lists(_SEG, min_size=1, max_size=4),
    pattern_kind=_KIND,
    pattern_segments=st.lists(st.one_of(_SEG, st.just("*")), min_size=1, max_size=4),
)
def test_matcher_agrees_with_reference(
    kind: str, resource_segments: list[str], pattern_kind: str, pattern_segments: list[str]
) -> None:
    resource = f"{kind}:{'/'.join(resource_segments)}"
    pattern = f"{pattern_kind}:{'/'.join(pattern_segments)}"
    assert resource_pattern_problem(pattern) is None
    assert resource_matches(resource, pattern) is _reference(resource, pattern)

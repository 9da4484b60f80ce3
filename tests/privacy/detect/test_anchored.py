"""``AnchoredScan`` must find exactly what ``regex.finditer`` finds, for every pattern using it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.privacy.detect.anchored import AnchoredScan
from bastion.privacy.detect.recognizer import Pattern, PatternRecognizer
from bastion.privacy.detect.recognizers.patterns import builtin_pattern_recognizers


def _anchored_patterns() -> list[Pattern]:
    return [
        pattern
        for recognizer in builtin_pattern_recognizers()
        if isinstance(recognizer, PatternRecognizer)
        for pattern in recognizer.patterns
        if pattern.anchored is not None
    ]


ANCHORED = _anchored_patterns()
#: Characters around which the anchored patterns' rules turn, plus letters that case-fold
#: onto ASCII (Kelvin sign, long s, dotted and dotless i) and whole fragments.
PIECES = [
    *"abcxZ09.@-_+%:/ \n\té",
    "\u212a",
    "\u017f",
    "\u0130",
    "\u0131",
    "com",
    "org",
    "de",
    "mail.",
    "@example.com",
    "x" * 70,
]
TEXTS = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


def _spans(matches: object) -> list[tuple[int, int]]:
    return [m.span() for m in matches]  # type: ignore[attr-defined]


def test_email_and_domain_patterns_are_anchored() -> None:
    anchors = sorted(p.anchored.anchor for p in ANCHORED if p.anchored is not None)
    assert anchors == [".", "@"]


@pytest.mark.parametrize("pattern", ANCHORED, ids=lambda p: p.anchored.anchor)
@settings(max_examples=400, deadline=None)
@given(text=TEXTS)
def test_same_matches_as_finditer(pattern: Pattern, text: str) -> None:
    assert _spans(pattern.finditer(text)) == _spans(pattern.regex.finditer(text))


@pytest.mark.parametrize(
    "text",
    [
        "mail a@b.com, c@d.org and e@f.net",
        "x@a.com.b@c.org",
        "a@b@c.com",
        "see https://example.com/path or example.org.",
        "long " + "a" * 300 + ".com " + "b." * 200 + "de",
        "",
        "no anchors here",
    ],
)
def test_known_cases(text: str) -> None:
    for pattern in ANCHORED:
        assert _spans(pattern.finditer(text)) == _spans(pattern.regex.finditer(text))


def test_a_wrong_segment_is_caught() -> None:
    """The property test can fail: a segment class missing a look-behind character
    ("%") makes the scan start inside a run that finditer never starts in."""
    email = next(p for p in ANCHORED if p.anchored is not None and p.anchored.anchor == "@")
    wrong = AnchoredScan(email.regex, "@", r"[\w.+-]")
    text = " bZ+%c@b.org"
    assert _spans(wrong.finditer(text)) != _spans(email.regex.finditer(text))


def test_anchor_is_one_character() -> None:
    with pytest.raises(ValueError, match="one character"):
        AnchoredScan(re.compile("ab"), "ab", "[a-z]")


def test_a_wrong_follow_class_is_caught() -> None:
    """Skipping anchors not followed by ``follow`` is only right when the class is."""
    domain = next(p for p in ANCHORED if p.anchored is not None and p.anchored.anchor == ".")
    wrong = AnchoredScan(domain.regex, ".", r"[\w@.:/-]", "[0-9]")
    text = "see example.com today"
    assert _spans(domain.finditer(text)) == _spans(domain.regex.finditer(text)) != []
    assert _spans(wrong.finditer(text)) == []

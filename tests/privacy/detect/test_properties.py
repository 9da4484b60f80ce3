"""Property tests: any text gives valid, sorted, non-overlapping spans and never crashes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.privacy.detect import default_engine

_PIECES = st.sampled_from(
    [
        "John",
        "Smith",
        "Dr.",
        "May",
        " ",
        "\n",
        "555-201-3344",
        "a@b.com",
        "123-45-6789",
        ",",
        "4111 1111 1111 1111",
        "Main St",
        "42",
        "New York",
        "2024-01-02",
        "MRN",
        ":",
        "@",
        ".",
    ]
)
_TEXT = st.one_of(st.text(max_size=300), st.lists(_PIECES, max_size=40).map("".join))


@settings(max_examples=200, deadline=None)
@given(_TEXT)
def test_spans_valid_and_disjoint(text: str) -> None:
    spans = default_engine().analyze(text)
    previous_end = 0
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert span.start >= previous_end
        assert 0.0 <= span.score <= 1.0
        previous_end = span.end

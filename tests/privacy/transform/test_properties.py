"""Property tests: whatever the spans and operator, no character of a span survives."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.privacy.detect.span import Span
from bastion.privacy.transform import anonymize, deanonymize, parse_policy

KEY = bytes(range(32))
POLICIES = {
    name: parse_policy(f"default: {name}")
    for name in ("redact", "replace", "pseudonymize", "surrogate", "encrypt", "date_shift")
}
ENTITIES = ("PERSON", "EMAIL_ADDRESS", "US_SSN", "PHONE_NUMBER", "DATE_TIME", "ZIP_CODE", "AGE")
MARK = "\u01c6"  # a letter no operator produces: every surviving MARK is a leak


@st.composite
def text_and_spans(draw: st.DrawFn) -> tuple[str, list[Span]]:
    alphabet = st.characters(blacklist_categories=("Cs",), blacklist_characters=MARK)
    text = draw(st.text(alphabet=alphabet, min_size=1, max_size=80))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=10)))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        if end > start:
            spans.append(Span(start, end, draw(st.sampled_from(ENTITIES)), 1.0))
    return text, spans


def marked(text: str, spans: list[Span]) -> str:
    """The text with every span's characters turned into MARK."""
    chars = list(text)
    for span in spans:
        chars[span.start : span.end] = MARK * span.length
    return "".join(chars)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_and_spans(), st.sampled_from(sorted(POLICIES)))
def test_every_span_is_replaced_and_offsets_are_consistent(
    case: tuple[str, list[Span]], operator: str
) -> None:
    text, spans = case
    # Anonymizing the marked text must leave no MARK: every span character was replaced.
    source = marked(text, spans)
    result = anonymize(source, spans, POLICIES[operator], key=KEY, person_id="p")
    assert MARK not in result.text
    assert len(result.items) == len(spans)
    # Text outside spans is kept in order, and output offsets tile the output exactly.
    rebuilt, cursor, previous_end = [], 0, 0
    for item, span in zip(result.items, sorted(spans), strict=True):
        assert item.start >= previous_end
        assert (item.source_start, item.source_end) == (span.start, span.end)
        rebuilt.append(result.text[previous_end : item.start])
        assert result.text[previous_end : item.start] == source[cursor : span.start]
        cursor, previous_end = span.end, item.end
    assert result.text[previous_end:] == source[cursor:]


@settings(max_examples=80, deadline=None)
@given(text_and_spans())
def test_encryption_always_round_trips(case: tuple[str, list[Span]]) -> None:
    text, spans = case
    result = anonymize(text, spans, POLICIES["encrypt"], key=KEY)
    assert deanonymize(result, KEY) == text


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=40), st.integers(0, 8))
def test_mask_reveals_at_most_keep_last_and_at_most_half(value: str, keep_last: int) -> None:
    policy = parse_policy(
        f"default: {{operator: mask, keep_last: {keep_last}, masking_char: '\u01c6'}}"
    )
    result = anonymize(value, [Span(0, len(value), "ID_NUMBER", 1.0)], policy)
    assert len(result.text) == len(value)
    revealed = [i for i, ch in enumerate(result.text) if ch != "\u01c6"]
    assert len(revealed) <= min(keep_last, len(value) // 2)
    assert all(i >= len(value) - keep_last for i in revealed)

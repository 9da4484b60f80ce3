"""The speed-ups are exact: every fast path agrees with the straightforward computation."""

from __future__ import annotations

import codecs
import json
import math
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.guards.harmful import _PATTERNS as HARMFUL_PATTERNS
from bastion.guards.injection import bundled_classifier
from bastion.guards.injection import decoders as dec
from bastion.guards.injection.heuristics import _PATTERNS as INJECTION_PATTERNS
from bastion.guards.literals import LiteralSet, TextView, view
from bastion.guards.normalize import _ANY_HIDDEN, has_hidden
from bastion.guards.secrets import _PATTERNS as SECRET_PATTERNS

ROOT = Path(__file__).resolve().parents[2]
TRIGGERS = sorted(
    {t for _, _, triggers, _ in INJECTION_PATTERNS for t in triggers}
    | {t for _, triggers, _ in HARMFUL_PATTERNS for t in triggers}
    | {t for _, triggers, _ in SECRET_PATTERNS for t in triggers}
)
# Letters the triggers are made of, plus look-alikes, case pairs and separators.
TRIGGER_ALPHABET = st.sampled_from(
    sorted(set("".join(TRIGGERS)) | set("IGNORÜSK \n\t.-_|<>İıſ\u212aß\U000e0041\u200b"))
)
MIXED = st.text(alphabet=TRIGGER_ALPHABET, min_size=0, max_size=1500)
ANY = st.text(alphabet=st.characters(codec=None), max_size=1200)


def _corpus() -> list[str]:
    rows = (ROOT / "benchmarks" / "data" / "guard_eval.jsonl").read_text("utf-8").splitlines()
    texts = [json.loads(r)["text"] for r in rows if r.strip()]
    joined = " ".join(texts)
    return [*texts, joined, joined.upper(), joined[::-1]]


def _naive(literals: list[str], text: str) -> set[str]:
    lowered = text.lower()
    return {lit for lit in literals if lit in lowered}


@settings(max_examples=300, deadline=None)
@given(MIXED)
def test_literal_set_is_exactly_substring_search(text: str) -> None:
    literals = LiteralSet(TRIGGERS)
    assert literals.present(TextView(text)) == _naive(TRIGGERS, text)
    # Long enough for the trigram table, not just the direct loop.
    long = text * (600 // max(1, len(text)) + 1)
    assert literals.present(TextView(long)) == _naive(TRIGGERS, long)


@settings(max_examples=100, deadline=None)
@given(ANY)
def test_literal_set_on_arbitrary_unicode(text: str) -> None:
    long = (text + " ignore ") * 3
    assert LiteralSet(TRIGGERS).present(view(long)) == _naive(TRIGGERS, long)


def test_literal_set_on_the_corpus() -> None:
    literals = LiteralSet(TRIGGERS)
    for text in _corpus():
        assert literals.present(view(text)) == _naive(TRIGGERS, text)


def test_literal_set_rejects_uppercase_and_empty() -> None:
    with pytest.raises(ValueError):
        LiteralSet(["Ignore"])
    with pytest.raises(ValueError):
        LiteralSet([""])


def test_view_is_shared_per_text() -> None:
    text = "some text " * 100
    assert view(text) is view(text)
    assert view(text).lowered == text.lower()


@settings(max_examples=300, deadline=None)
@given(ANY)
def test_hidden_character_check_matches_the_pattern(text: str) -> None:
    assert has_hidden(text) == (_ANY_HIDDEN.search(text) is not None)


def test_hidden_character_check_every_ascii_character() -> None:
    for code in range(128):
        assert has_hidden(f"a{chr(code)}b") == bool(_ANY_HIDDEN.search(chr(code)))


RUN_ALPHABET = st.sampled_from(list("aZ09+/=_-x\\: fFgG\n.é€"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=RUN_ALPHABET, max_size=200))
def test_run_gates_never_hide_a_run(text: str) -> None:
    assert dec._has_run(text, dec._B64_CLASS, 16) == bool(dec._RUN.search(text))
    assert dec._has_run(text, dec._HEX_CLASS, 24) == bool(dec._HEX_CANDIDATE.search(text))


def _rot13_reference(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z]+", text[:2000])
    if len(words) < 2:
        return []
    lowered = [w.lower() for w in words]
    plain = sum(1 for w in lowered if w in dec._COMMON_WORDS)
    rotated = sum(1 for w in lowered if w in dec._COMMON_WORDS_ROT13)
    return [codecs.decode(text[: dec.MAX_CANDIDATE_CHARS], "rot13")] if rotated > plain else []


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("gur naq the and n a ZXq1.\n-äİıK\u212a€")), max_size=300)
)
def test_rot13_fast_count_matches(text: str) -> None:
    assert list(dec.decode_rot13(text)) == _rot13_reference(text)


OBFUSCATION = st.text(
    alphabet=st.sampled_from(list("aZe1037@$ x=+/_-.\nä€İаеοɡ\U000e0041\U000e0069\U0001f600")),
    max_size=300,
)


@settings(max_examples=400, deadline=None)
@given(OBFUSCATION)
def test_decoder_gates_match_the_plain_decoders(text: str) -> None:
    assert dec._b64_runs(text) == [m.group(0) for m in dec._RUN.finditer(text)]
    head = text[: dec.MAX_CANDIDATE_CHARS]
    leet = any(c in head for c in "013457@$") and len(dec._LEET_WORD.findall(head)) >= 4
    assert list(dec.decode_leetspeak(text)) == ([head.translate(dec._LEET)] if leet else [])
    lookalike = bool(dec._NON_LATIN_LOOKALIKE.search(text) and re.search(r"[A-Za-z]", text))
    assert list(dec.decode_homoglyphs(text)) == (
        [head.translate(dec._HOMOGLYPHS)] if lookalike else []
    )
    from bastion.guards.normalize import decode_tag_characters

    smuggled = decode_tag_characters(text)
    assert list(dec.decode_tags(text)) == (
        [smuggled[: dec.MAX_CANDIDATE_CHARS]] if smuggled.strip() else []
    )


def test_rot13_fast_count_on_the_corpus() -> None:
    for text in _corpus():
        for candidate in (text, codecs.encode(text, "rot13")):
            assert list(dec.decode_rot13(candidate)) == _rot13_reference(candidate)


def test_classifier_windows_match_the_pipeline() -> None:
    """Each 200-word window scores as the pipeline scores that window's words on their own."""
    classifier = bundled_classifier()
    texts = _corpus()
    long = " ".join(texts)
    words = long.lower().split()
    assert len(words) > 1000
    starts = [*range(0, len(words) - 200, 200), len(words) - 200]
    windows = [" ".join(words[s : s + 200]) for s in starts]
    expected = max(float(d) for d in classifier.pipeline.decision_function(windows))
    assert classifier.probability(long) == pytest.approx(1.0 / (1.0 + math.exp(-expected)))
    for text in texts[:60]:
        wanted = float(classifier.pipeline.decision_function([text])[0])
        assert classifier.decision(text) == pytest.approx(wanted, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"abcXYZ019_-'. \n\t", "fuck", "idiot ", "É", "ß", "ö", "ǅ"]),
        max_size=60,
    ).map("".join)
)
def test_profanity_tokenisation_matches_library(text: str) -> None:
    from profanity_check import predict_prob

    from bastion.guards.profanity import _TOKEN, profanity_model

    model = profanity_model()
    result = model.score(text)
    assert result.probability == pytest.approx(float(predict_prob([text])[0]), abs=1e-9)
    lowered = text.lower()
    offensive = [m.span() for m in _TOKEN.finditer(lowered) if m.group(0) in model._offensive]
    assert list(result.offensive_spans) == offensive


def _unfiltered_heuristics(text: str) -> set[str]:
    from bastion.guards.injection import heuristics

    lowered = text.lower()
    return {
        family
        for family, _, triggers, pattern in heuristics._PATTERNS
        if any(t in lowered for t in triggers) and pattern.search(text)
    }


def _unfiltered_secrets(text: str) -> set[tuple[int, int, str]]:
    from bastion.guards.secrets import _PATTERNS

    lowered = text.lower()
    return {
        (m.start(), m.end(), kind)
        for kind, triggers, pattern in _PATTERNS
        if any(t in lowered for t in triggers)
        for m in pattern.finditer(text)
        if m.end() > m.start()
    }


PATTERN_WORDS = st.sampled_from(
    [
        *TRIGGERS,
        "ignore",
        "all",
        "previous",
        "instructions",
        "you are",
        "now",
        "system prompt",
        "reveal your",
        "Vergiss",
        "alle",
        "Anweisungen",
        "I will kill",
        "you",
        "process",
        "password=",
        "hunter22abc",
        "AKIAABCDEFGHIJKLMNOP",
        "\n",
        " ",
        ":",
        "İ",
        "ı",
        "ſ",
        "\u212a",
        "ä",
    ]
)
PATTERN_TEXT = st.lists(PATTERN_WORDS, max_size=40).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(PATTERN_TEXT)
def test_prefilter_never_hides_a_match(text: str) -> None:
    from bastion.guards.injection.heuristics import scan_heuristics
    from bastion.guards.secrets import find_secrets

    assert {h.family for h in scan_heuristics(text)} == _unfiltered_heuristics(text)
    found = {(s.start, s.end, s.entity_type.split(":", 1)[1]) for s in find_secrets(text)}
    assert found <= _unfiltered_secrets(text)
    assert {s[2] for s in found} == {s[2] for s in _unfiltered_secrets(text)}


def test_prefilter_on_the_corpus_and_without_the_accelerator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bastion.guards import ScanContext
    from bastion.guards.harmful import HarmfulContentGuard
    from bastion.guards.harmful import prefilter as harmful_prefilter
    from bastion.guards.injection.heuristics import prefilter as injection_prefilter
    from bastion.guards.injection.heuristics import scan_heuristics
    from bastion.guards.secrets import find_secrets
    from bastion.guards.secrets import prefilter as secrets_prefilter

    texts = _corpus()
    texts += [codecs.encode(t, "rot13") for t in texts[:40]]
    guard = HarmfulContentGuard()
    ctx = ScanContext(direction="output")
    fast = [(scan_heuristics(t), find_secrets(t), guard.scan(t, ctx)) for t in texts]
    for prefilter in (injection_prefilter(), secrets_prefilter(), harmful_prefilter()):
        monkeypatch.setattr(prefilter, "possible", lambda text: None)
    slow = [(scan_heuristics(t), find_secrets(t), guard.scan(t, ctx)) for t in texts]
    assert fast == slow
    for text in texts:
        assert {h.family for h in scan_heuristics(text)} == _unfiltered_heuristics(text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("aÄä\u0308ﬁｆ\u200b\u202e\x07 İß\U000e0041")), max_size=60
    )
)
def test_is_normal_means_normalize_is_identity(text: str) -> None:
    from bastion.guards.normalize import _ANY_HIDDEN, is_normal, normalize_text, strip_hidden

    reference = strip_hidden(unicodedata.normalize("NFKC", strip_hidden(text)))
    assert normalize_text(text) == reference
    if is_normal(text):
        assert reference == text
    assert is_normal(text) == (
        _ANY_HIDDEN.search(text) is None and unicodedata.normalize("NFKC", text) == text
    )

"""The hyperscan prefilter only skips scans that would find nothing: output is unchanged."""

from __future__ import annotations

import json
import random
import re
import threading
from pathlib import Path

import pytest

from bastion.privacy.corpus import generate
from bastion.privacy.detect import EngineConfig, build_engine, default_engine
from bastion.privacy.detect.prefilter import Prefilter, available, first_char_lookahead, relax

DATA = Path(__file__).resolve().parents[1] / "data"
needs_hyperscan = pytest.mark.skipif(not available(), reason="hyperscan not installed")


def _texts() -> list[str]:
    texts = [d.text for d in generate(n=150, seed=11, split="holdout")]
    for name in ("handwritten.jsonl", "regression.jsonl"):
        lines = (DATA / name).read_text("utf-8").splitlines()
        texts += [json.loads(line)["text"] for line in lines[:60] if line.strip()]
    # Non-ASCII text: accented names, a German street, Arabic-Indic digits, a Kelvin sign.
    texts += [
        "Zoë Müller lives at Hauptstraße 12, 10115 Berlin; tel ٠١٢٣٤٥٦٧٨٩ or 030 1234567.",
        "Señora Peña — MRN: A1234567, e-mail zoë@example.com, born 3/4/1950 in Sevilla.",
        "Account \u212a-12345678 (Kelvin sign) and ſerial SN-99887766; İstanbul office.",
        "Calle del Prado 5, 28014 Madrid · teléfono +34 912 345 678 · DNI 12345678Z",
    ]
    return texts


def _all_regexes() -> list[re.Pattern[str]]:
    regexes: list[re.Pattern[str]] = []
    for recognizer in default_engine().recognizers:
        source = getattr(recognizer, "prefilter_regexes", None)
        if source is not None:
            regexes.extend(source())
    return regexes


def _mutations(text: str, rng: random.Random) -> list[str]:
    """Shuffled and spliced variants: shapes the generator never writes."""
    words = text.split(" ")
    rng.shuffle(words)
    cut = rng.randrange(len(text) + 1)
    return [" ".join(words), text[cut:] + "\n" + text[:cut], text.replace(" ", "")]


@needs_hyperscan
def test_relaxed_forms_accept_every_match() -> None:
    regexes = _all_regexes()
    prefilter = Prefilter(regexes)
    assert prefilter.active
    rng = random.Random(5)
    checked = 0
    for base in _texts():
        for text in [base, *_mutations(base, rng)]:
            possible = prefilter.possible(text)
            if possible is None:
                continue
            for regex in regexes:
                if regex.search(text) is not None:
                    assert id(regex) in possible, (regex.pattern[:60], text[:80])
                    checked += 1
    assert checked > 500


@needs_hyperscan
def test_every_builtin_regex_gets_a_relaxed_form() -> None:
    assert all(relax(regex) is not None for regex in _all_regexes())


@needs_hyperscan
def test_case_twins_disable_the_prefilter() -> None:
    prefilter = Prefilter(_all_regexes())
    assert prefilter.possible("account \u212a-1234") is None
    assert prefilter.possible("plain ascii 555-201-3344") is not None


def test_output_identical_with_and_without_prefilter() -> None:
    fast = build_engine(EngineConfig())
    slow = build_engine(EngineConfig(prefilter=False))
    assert not slow.prefilter().active
    texts = _texts()
    texts.append("\n".join(texts[:40]))
    for text in texts:
        assert fast.analyze(text) == slow.analyze(text), text[:80]


def test_concurrent_scans_agree() -> None:
    engine = build_engine(EngineConfig())
    texts = _texts()[:60]
    expected = [engine.analyze(t) for t in texts]
    results: dict[int, list[object]] = {}

    def work(index: int) -> None:
        results[index] = [engine.analyze(t) for t in texts]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results.values())


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?<![\w-])[A-Z]{0,3}-?\d{6,10}(?![\w-])",
        r"(?<![\w.+%-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}",
        r"\b(?:\d{1,4}(?:\s?(?:bis|ter))?,?\s+)?(?:rue|Calle|Via)\s+[A-ZÀ-Þ][\w'’\-]*",
        r"(?i)\b(?:age[ds]?|aged)\s*[:=]?\s*(\d{1,3})\b",
        r"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:|:){2,7}(?::|[0-9A-Fa-f]{1,4})(?![\w:])",
        r"(?:x|y)?z*\d",  # optional opening parts: the first set is their union
        r"a?",  # may match empty: left alone
        r"[^a-z]\d",  # opens with a class already: left alone
    ],
)
def test_first_char_lookahead_keeps_matches(pattern: str) -> None:
    original = re.compile(pattern)
    rewritten = first_char_lookahead(original)
    rng = random.Random(3)
    for base in _texts():
        for text in [base, *_mutations(base, rng)]:
            assert [(m.span(), m.groups()) for m in rewritten.finditer(text)] == [
                (m.span(), m.groups()) for m in original.finditer(text)
            ]


def test_first_char_lookahead_leaves_unhelpful_patterns() -> None:
    for pattern in (r"a?", r"[^a-z]\d", r"abc", r"\w+@", r"(?<!x)(?i:ab)c"):
        assert first_char_lookahead(re.compile(pattern)).pattern == pattern
    assert first_char_lookahead(re.compile(r"(?<!x)\d+")).pattern.startswith(r"(?=[\d])")


@needs_hyperscan
def test_edge_guards_stay_supersets() -> None:
    """Guards built from look-behinds/look-aheads at a pattern's edges, on edge cases:
    match at the very start or end, next to non-ASCII letters and punctuation."""
    regexes = [
        re.compile(r"(?<![\w-])\d{9}(?![\w-])"),
        re.compile(r"\d(?<![\w-]\d)\d{8}(?![\w-]|\.\d)"),
        re.compile(r"(?=[12])(?<![\w$#.-])(?:19|20)\d{2}(?![\w%-]|\.\d)"),
        re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)", re.IGNORECASE),
    ]
    prefilter = Prefilter(regexes)
    values = ["123456789", "1999", "10.1.2.3"]
    edges = ["", " ", "é", "—", "-", ".", "x", "\n", "$", "%", "ß", "1"]
    checked = 0
    for value in values:
        for left in edges:
            for right in edges:
                text = f"{left}{value}{right}"
                possible = prefilter.possible(text)
                assert possible is not None
                for regex in regexes:
                    if regex.search(text) is not None:
                        assert id(regex) in possible, (regex.pattern, text)
                        checked += 1
    assert checked > 30


def test_without_hyperscan_every_regex_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from bastion.privacy.detect import prefilter as module

    monkeypatch.setattr(module, "_hs", None)
    prefilter = Prefilter(_all_regexes())
    assert not prefilter.active
    assert prefilter.possible("call 555-201-3344") is None

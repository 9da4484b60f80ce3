"""System-prompt and canary-token leakage in model output.

A canary is a random marker placed in the system prompt: if it ever appears
in a response, the prompt leaked.  Without canaries, long verbatim runs of
the system prompt's words in the output are the signal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bastion.guards.base import Action, Guard, ScanContext, Verdict, merge_spans, replace_spans
from bastion.guards.normalize import normalize_text
from bastion.privacy.detect.span import Span

_WORD = re.compile(r"\w+")


def _shingles(words: list[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


class LeakageGuard(Guard):
    """Detect canary tokens and verbatim system-prompt passages in output.

    ``canaries`` come from the policy and from ``ScanContext.canaries``; the
    system prompt from ``system_prompt`` here or in the context.  A run of
    ``min_words`` consecutive system-prompt words (case-insensitive) counts
    as a leak.
    """

    kind = "leakage"
    actions = frozenset({Action.BLOCK, Action.FLAG, Action.REDACT})
    default_action = Action.BLOCK

    def __init__(
        self,
        *,
        canaries: Sequence[str] = (),
        system_prompt: str | None = None,
        min_words: int = 8,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if min_words < 3:
            raise ValueError("min_words must be at least 3")
        self.canaries = tuple(c for c in canaries if c)
        self.system_prompt = system_prompt
        self.min_words = min_words

    def __repr__(self) -> str:
        return (
            f"LeakageGuard(name={self.name!r}, canaries={len(self.canaries)}, "
            f"action={self.action.value!r})"
        )

    def scan(self, text: str, context: ScanContext) -> Verdict:
        folded = normalize_text(text).casefold()
        same_offsets = len(folded) == len(text)
        reasons: list[str] = []
        spans: list[Span] = []
        for canary in (*self.canaries, *context.canaries):
            needle = normalize_text(canary).casefold()
            if len(needle) < 4:
                continue
            start = folded.find(needle)
            while start != -1:
                reasons.append("leakage:canary")
                if same_offsets:
                    spans.append(Span(start, start + len(needle), "LEAK:canary", 1.0))
                start = folded.find(needle, start + 1)
        overlap = 0.0
        prompt = context.system_prompt or self.system_prompt
        if prompt:
            prompt_words = _WORD.findall(normalize_text(prompt).casefold())
            if len(prompt_words) >= self.min_words:
                leaked = _shingles(prompt_words, self.min_words) & _shingles(
                    _WORD.findall(folded), self.min_words
                )
                if leaked:
                    overlap = len(leaked) / max(1, len(prompt_words) - self.min_words + 1)
                    reasons.append("leakage:system-prompt")
        if not reasons:
            return self.allow()
        merged = merge_spans(spans)
        redacted = replace_spans(text, merged, "[removed:canary]") if merged else None
        if "leakage:system-prompt" in reasons and self.action is Action.REDACT:
            redacted = "[response withheld: it repeated the system prompt]"
        if self.action is Action.REDACT and redacted is None:
            # The leak cannot be located in the original offsets: refuse rather than pass it on.
            return Verdict(self.name, Action.BLOCK, reasons=tuple(dict.fromkeys(reasons)))
        return self.found(
            reasons, scores={"system_prompt_overlap": overlap}, spans=merged, redacted=redacted
        )

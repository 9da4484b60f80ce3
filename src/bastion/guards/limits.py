"""Length and token limits: the first and cheapest guard, so huge inputs stop early."""

from __future__ import annotations

import re
from typing import Any

from bastion.guards.base import Action, Guard, ScanContext, Verdict

# Words, numbers and single punctuation marks: close to (slightly above) BPE token counts
# for English and German prose, and cheap.
_TOKEN = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """Approximate LLM token count without a tokenizer download."""
    return sum(1 for _ in _TOKEN.finditer(text))


class LengthGuard(Guard):
    """Refuse texts longer than ``max_chars`` characters or ``max_tokens`` estimated tokens."""

    kind = "length"
    default_action = Action.BLOCK

    def __init__(self, *, max_chars: int = 32_000, max_tokens: int = 8_192, **common: Any) -> None:
        super().__init__(**common)
        if max_chars < 1 or max_tokens < 1:
            raise ValueError("max_chars and max_tokens must be positive")
        self.max_chars = max_chars
        self.max_tokens = max_tokens

    def scan(self, text: str, context: ScanContext) -> Verdict:
        if len(text) > self.max_chars:
            return self.found(["length:too-many-chars"], scores={"chars": float(len(text))})
        if len(text) <= self.max_tokens:  # a token is at least one character
            return self.allow(scores={"chars": float(len(text))})
        tokens = estimate_tokens(text)
        if tokens > self.max_tokens:
            return self.found(["length:too-many-tokens"], scores={"tokens": float(tokens)})
        return self.allow(scores={"chars": float(len(text)), "tokens": float(tokens)})

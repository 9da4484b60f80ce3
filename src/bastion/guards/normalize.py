"""Unicode normalisation: NFKC plus removal of invisible and direction-changing characters.

Zero-width, bidirectional-control, tag and stray control characters are how
instructions get hidden from human reviewers ("ASCII smuggling", Trojan
Source).  They are removed and the removal is reported, never done silently.
"""

from __future__ import annotations

import re
import unicodedata

from bastion.guards.base import Action, Guard, ScanContext, Verdict

# Zero-width and other default-ignorable characters used to hide or split words.
_ZERO_WIDTH = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200d"
    "\u2060-\u2064\u3164\ufeff\uffa0"
)
_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
_TAGS = "\U000e0000-\U000e007f"
_VARIATION_SUPPLEMENT = "\U000e0100-\U000e01ef"
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"

_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("unicode:zero-width", re.compile(f"[{_ZERO_WIDTH}]")),
    ("unicode:bidi-control", re.compile(f"[{_BIDI}]")),
    ("unicode:tag-characters", re.compile(f"[{_TAGS}]")),
    ("unicode:variation-selector-smuggling", re.compile(f"[{_VARIATION_SUPPLEMENT}]")),
    ("unicode:control", re.compile(f"[{_CONTROL}]")),
)
_ANY_HIDDEN = re.compile(f"[{_ZERO_WIDTH}{_BIDI}{_TAGS}{_VARIATION_SUPPLEMENT}{_CONTROL}]")
_TAG_RUN = re.compile(f"[{_TAGS}]+")


# ASCII bytes that are never hidden characters: deleting them leaves only the hidden ones.
_ASCII_VISIBLE = bytes(b for b in range(128) if not _ANY_HIDDEN.match(chr(b)))


def has_hidden(text: str) -> bool:
    """True when ``text`` contains any invisible, bidi-control, tag or control character."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _ASCII_VISIBLE))
    return _ANY_HIDDEN.search(text) is not None


def is_normal(text: str) -> bool:
    """True when ``normalize_text`` would return ``text`` unchanged: nothing hidden, NFKC."""
    return not has_hidden(text) and (text.isascii() or unicodedata.is_normalized("NFKC", text))


def strip_hidden(text: str) -> str:
    """Remove every invisible, bidi-control, tag and control character."""
    return _ANY_HIDDEN.sub("", text)


def normalize_text(text: str) -> str:
    """NFKC with hidden characters removed; idempotent."""
    if is_normal(text):
        return text
    return strip_hidden(unicodedata.normalize("NFKC", strip_hidden(text)))


def decode_tag_characters(text: str) -> str:
    """The ASCII text smuggled in Unicode tag characters (U+E0020..U+E007E), if any."""
    return " ".join(
        "".join(chr(ord(c) - 0xE0000) for c in run if 0x20 <= ord(c) - 0xE0000 <= 0x7E)
        for run in _TAG_RUN.findall(text)
    )


def hidden_reasons(text: str) -> list[str]:
    """Reason codes for each class of hidden character present in ``text``."""
    if not has_hidden(text):
        return []
    return [reason for reason, pattern in _CLASSES if pattern.search(text)]


class UnicodeGuard(Guard):
    """Normalise to NFKC and remove hidden characters, reporting what was removed.

    The text always moves on normalised; the configured action (``flag`` by
    default, or ``block``) applies when hidden characters were present.
    """

    kind = "unicode"
    actions = frozenset({Action.FLAG, Action.BLOCK, Action.REDACT})
    default_action = Action.FLAG

    def scan(self, text: str, context: ScanContext) -> Verdict:
        if is_normal(text):
            return self.allow()  # the common case: nothing hidden, nothing to normalise
        normalised = normalize_text(text)
        reasons = hidden_reasons(text)
        changed = normalised if normalised != text else None
        if not reasons:
            return self.allow(text=changed)
        removed = sum(1 for _ in _ANY_HIDDEN.finditer(text))
        return self.found(
            reasons, scores={"hidden_characters": float(removed)}, normalised=normalised
        )

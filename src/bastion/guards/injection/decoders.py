"""Unwrap obfuscated text so the same detectors can see what the model would see.

Attackers hide instructions in base64, hex, rot13, leetspeak, look-alike
letters from other scripts, invisible tag characters and split strings that
the model is asked to join.  Each decoder returns candidate plain texts; the
guard rescans them with bounded depth and size so decoding cannot be used to
make the guard slow.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Callable, Iterator

from bastion.guards.literals import LiteralSet, view
from bastion.guards.normalize import decode_tag_characters

MAX_CANDIDATE_CHARS = 4096
MAX_CANDIDATES_PER_DECODER = 4

_B64 = re.compile(
    r"(?:[A-Za-z0-9+/]{4}){4,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?|(?:[A-Za-z0-9_\-]{4}){5,}"
)
_LEET_WORD = re.compile(r"[A-Za-z][013457@$]|[013457@$][A-Za-z]")
_RUN = re.compile(r"[A-Za-z0-9+/=_\-]{16,}")
_HEX_RUN = re.compile(r"(?:\\x)?[0-9a-fA-F]{2}(?:[\s:]?(?:\\x)?[0-9a-fA-F]{2}){11,}")
_QUOTED = re.compile(r"[\"'“‘„]([^\"'\n“”‘’„]{1,200})[\"'”’“]")
_ASCII_WORD = re.compile(r"[A-Za-z]+")
_COMMON_WORDS = frozenset(
    [
        "the",
        "and",
        "you",
        "your",
        "is",
        "are",
        "of",
        "to",
        "a",
        "in",
        "all",
        "it",
        "this",
        "that",
        "ignore",
        "previous",
        "instructions",
        "die",
        "der",
        "das",
        "und",
        "ich",
        "du",
        "nicht",
        "ist",
        "alle",
        "vorherigen",
        "anweisungen",
    ]
)
_COMMON_WORDS_ROT13 = frozenset(codecs.encode(w, "rot13") for w in _COMMON_WORDS)
_HEX_CANDIDATE = re.compile(r"[0-9a-fA-F\\x: ]{24,}")
_MAX_ENCODED = 4 * MAX_CANDIDATE_CHARS
_SPLIT_WORDS = ("+", "concat", "combine", "join", "zusammen", "verbinde", "together")
_SPLIT_LITERALS = LiteralSet(_SPLIT_WORDS)
_REVERSE_LITERALS = LiteralSet(("revers", "backward", "rückwärts", "umgekehrt"))
_SPLIT_HINT = re.compile(
    r"\b(?:concatenat\w*|combine|join|zusammen\w*|verbinde|a\s*\+\s*b|\w\s*\+\s*\w|together)\b",
    re.I,
)

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
# Cyrillic and Greek letters that render like Latin ones (a common subset of Unicode confusables).
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "һ": "h",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ɡ": "g",
        "ո": "n",
        "ս": "u",
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "Х": "X",
        "І": "I",
        "Ј": "J",
        "Ѕ": "S",
        "Ү": "Y",
        "α": "a",
        "ο": "o",
        "ρ": "p",
        "ν": "v",
        "τ": "t",
        "ι": "i",
        "ı": "i",  # Latin dotless i: Python's re.I matches it to "i", the word gates did not
        "κ": "k",
        "ε": "e",
        "υ": "u",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ο": "O",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
    }
)
_NON_LATIN_LOOKALIKE = re.compile("[" + "".join(k for k in map(chr, _HOMOGLYPHS)) + "]")


# Exact gates: cheap byte-level tests that say a decoder can find nothing, so the
# regular expressions (one pass per text position) only run on texts that need them.
def _class_table(members: str) -> bytes:
    """A ``bytes.translate`` table mapping ``members`` to ``a`` and every other byte to a space."""
    chosen = set(members.encode("ascii"))
    return bytes(0x61 if b in chosen else 0x20 for b in range(256))


_B64_CLASS = _class_table("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")
_HEX_CLASS = _class_table("0123456789abcdefABCDEF\\x: ")
_LETTERS_LOWER = bytes(
    b + 32 if 0x41 <= b <= 0x5A else b if 0x61 <= b <= 0x7A else 0x20 for b in range(256)
)
_B64_MEMBERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"
_B64_KEEP = bytes(b if b in _B64_MEMBERS else 0x20 for b in range(256))
_LEET_MARKS = bytes(
    0x4C if chr(b).isascii() and chr(b).isalpha() else 0x44 if chr(b) in "013457@$" else 0x20
    for b in range(256)
)
_COMMON_BYTES = frozenset(w.encode("ascii") for w in _COMMON_WORDS)
_COMMON_BYTES_ROT13 = frozenset(w.encode("ascii") for w in _COMMON_WORDS_ROT13)


def _has_run(text: str, table: bytes, length: int) -> bool:
    """True when ``text`` has ``length`` consecutive characters of the (ASCII) class ``table``.

    The classes are ASCII-only, so a run in the text is a run in its UTF-8 bytes.
    """
    return b"a" * length in text.encode("utf-8", "surrogatepass").translate(table)


def _b64_runs(text: str) -> list[str]:
    """The matches of ``_RUN`` in order: maximal runs of 16 or more base64 characters.

    Found in C: every byte outside the (ASCII) class becomes a space and the
    bytes are split; a run of class characters is the same in the UTF-8 bytes.
    """
    parts = text.encode("utf-8", "surrogatepass").translate(_B64_KEEP).split()
    return [p.decode("ascii") for p in parts if len(p) >= 16]


def _leet_pairs_at_least(head: str, wanted: int) -> bool:
    """Whether ``_LEET_WORD`` can find ``wanted`` matches in ``head`` (exact upper bound first).

    Every match is a letter-then-leet or leet-then-letter pair at its own
    position, so the number of such pairs bounds the number of matches.
    """
    marks = head.encode("utf-8", "surrogatepass").translate(_LEET_MARKS)
    if marks.count(b"LD") + marks.count(b"DL") < wanted:
        return False
    return len(_LEET_WORD.findall(head)) >= wanted


def _latin1(text: str) -> bool:
    """True when every character is at most U+00FF (a copy in C for such texts)."""
    if text.isascii():
        return True
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _printable_ratio(text: str) -> float:
    if not text:
        return 0.0
    good = sum(1 for c in text if c.isprintable() or c in "\n\t")
    letters = sum(1 for c in text if c.isalpha() or c == " ")
    return min(good / len(text), letters / len(text) * 1.4)


def _plausible(decoded: bytes) -> str | None:
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 6 or _printable_ratio(text) < 0.8:
        return None
    return text[:MAX_CANDIDATE_CHARS]


def decode_base64(text: str) -> Iterator[str]:
    """Plausible UTF-8 text hidden in base64 (standard or URL-safe) runs."""
    if not _has_run(text, _B64_CLASS, 16):
        return
    found = 0
    tokens = (m.group(0) for run in _b64_runs(text) for m in _B64.finditer(run))
    for token in tokens:
        if token.isalpha() and (token.islower() or token.isupper()):
            continue  # a long ordinary word, not base64
        token = token[: _MAX_ENCODED - _MAX_ENCODED % 4]
        padded = token + "=" * (-len(token) % 4)
        for decoder in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                candidate = _plausible(decoder(padded))
            except (binascii.Error, ValueError):
                continue
            if candidate:
                found += 1
                yield candidate
                break
        if found >= MAX_CANDIDATES_PER_DECODER:
            return


def decode_hex(text: str) -> Iterator[str]:
    """Plausible UTF-8 text hidden in hex runs (``69676e6f7265``, ``\\x69\\x67``, ``69 67``)."""
    if not _has_run(text, _HEX_CLASS, 24):
        return
    runs = (m for c in _HEX_CANDIDATE.finditer(text) for m in _HEX_RUN.finditer(c.group(0)))
    for count, match in enumerate(runs):
        if count >= MAX_CANDIDATES_PER_DECODER:
            return
        digits = re.sub(r"[^0-9a-fA-F]", "", match.group(0)[:_MAX_ENCODED].replace("\\x", ""))
        if len(digits) % 2:
            digits = digits[:-1]
        candidate = _plausible(bytes.fromhex(digits))
        if candidate:
            yield candidate


def decode_rot13(text: str) -> Iterator[str]:
    """The rot13 reading of the text, when common words are more frequent rotated than not."""
    # The words of ``_ASCII_WORD`` in the first 2,000 characters, lowercased and counted in
    # C: every byte but an ASCII letter becomes a space (a non-ASCII character's UTF-8
    # bytes included, as it separates words), then split.
    data = text[:2000].encode("utf-8", "surrogatepass").translate(_LETTERS_LOWER).split()
    if len(data) < 2 or _COMMON_BYTES_ROT13.isdisjoint(data):
        return  # no rotated common word: rotated (0) cannot exceed plain
    plain = sum(map(_COMMON_BYTES.__contains__, data))
    rotated = sum(map(_COMMON_BYTES_ROT13.__contains__, data))
    if rotated > plain:  # reads better rotated: worth decoding
        yield codecs.decode(text[:MAX_CANDIDATE_CHARS], "rot13")


def decode_leetspeak(text: str) -> Iterator[str]:
    """Digits and symbols read as letters (``1gn0r3`` -> ``ignore``) when words mix them."""
    head = text[:MAX_CANDIDATE_CHARS]
    if any(c in head for c in "013457@$") and _leet_pairs_at_least(head, 4):
        yield text[:MAX_CANDIDATE_CHARS].translate(_LEET)


def decode_homoglyphs(text: str) -> Iterator[str]:
    """Cyrillic and Greek look-alikes mapped to Latin when they sit inside Latin words."""
    if _latin1(text):  # every look-alike lies above U+00FF
        return
    if _NON_LATIN_LOOKALIKE.search(text) and re.search(r"[A-Za-z]", text):
        yield text[:MAX_CANDIDATE_CHARS].translate(_HOMOGLYPHS)


def decode_tags(text: str) -> Iterator[str]:
    """ASCII smuggled in invisible Unicode tag characters."""
    if _latin1(text) or len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text):
        return  # no character outside the Basic Multilingual Plane, so none in the tag block
    smuggled = decode_tag_characters(text)
    if smuggled.strip():
        yield smuggled[:MAX_CANDIDATE_CHARS]


def join_split_payload(text: str) -> Iterator[str]:
    """Quoted fragments the user asks to concatenate, joined (payload splitting)."""
    if not _SPLIT_LITERALS.present(view(text)) or not _SPLIT_HINT.search(text):
        return
    parts = _QUOTED.findall(text[:MAX_CANDIDATE_CHARS])
    if len(parts) >= 2:
        yield "".join(parts)
        yield " ".join(parts)


def reverse_text(text: str) -> Iterator[str]:
    """The text read backwards when the user asks for it to be reversed."""
    if _REVERSE_LITERALS.present(view(text)):
        yield text[:MAX_CANDIDATE_CHARS][::-1]


DECODERS: tuple[tuple[str, Callable[[str], Iterator[str]]], ...] = (
    ("base64", decode_base64),
    ("hex", decode_hex),
    ("rot13", decode_rot13),
    ("leetspeak", decode_leetspeak),
    ("homoglyph", decode_homoglyphs),
    ("invisible-tags", decode_tags),
    ("payload-splitting", join_split_payload),
    ("reversed", reverse_text),
)

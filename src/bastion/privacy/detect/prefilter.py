"""One multi-pattern pass that tells which recognizer regexes cannot match a text.

Most of the ~60 regexes the recognizers run find nothing in a given document, yet each
costs a scan plus Python bookkeeping. With the optional ``hyperscan`` package (Intel's
multi-pattern engine, a PyPI wheel) every regex gets a *relaxed* twin compiled into one
database, and a single scan per document reports which twins match. A relaxed twin
accepts a superset of what its regex accepts (look-arounds, anchors and ``\\b`` are
dropped, back-references become a copy of their group, any non-ASCII character is
folded to one byte that every class able to match a non-ASCII character accepts), so
a regex whose twin did not fire has no match and its scan is skipped: the output is
exactly the one without the prefilter. Without hyperscan every regex runs, as before.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from re import _compiler as _re_compiler  # type: ignore[attr-defined]
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser as _re_parser  # type: ignore[attr-defined]
from typing import Any

_hs: Any
try:  # optional accelerator: ``pip install 'bastion[privacy]'`` brings it
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised where the wheel is missing
    _hs = None

#: Every non-ASCII character of a scanned text becomes this byte (one byte per
#: character, so repeat counts still line up).
_WIDE = 0x80
#: The only non-ASCII characters that Python matches case-insensitively against an ASCII
#: letter (İ ı for i, K for k, ſ for s): a text holding one is not prefiltered, so the
#: relaxed classes need not account for them.
_CASE_TWINS = ("\u0130", "\u0131", "\u212a", "\u017f")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_MAX_BOUND = 6
_SINGLE_CHAR = {_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN}


class _UnsupportedError(Exception):
    """A construct with no relaxed form: the regex is then always run."""


def available() -> bool:
    """True when the hyperscan accelerator is importable."""
    return _hs is not None


def _char_set(node: tuple[Any, Any], flags: int) -> tuple[frozenset[int], bool]:
    """ASCII code points a one-character node accepts (with Python's own semantics),
    and whether it may accept some non-ASCII character (conservatively True)."""
    key = (repr(node), flags)
    known = _CHAR_SETS.get(key)
    if known is None:
        known = _CHAR_SETS[key] = _compute_char_set(node, flags)
    return known


_CHAR_SETS: dict[tuple[str, int], tuple[frozenset[int], bool]] = {}


def _compute_char_set(node: tuple[Any, Any], flags: int) -> tuple[frozenset[int], bool]:
    state = _re_parser.State()
    state.flags = flags
    sub = _re_parser.SubPattern(state, [node])
    compiled = _re_compiler.compile(sub, flags)
    ascii_set = frozenset(i for i in range(128) if compiled.fullmatch(chr(i)))
    op, arg = node
    if op is _c.LITERAL:
        return ascii_set, arg >= 128
    if op is _c.IN:
        plain = all(
            (item_op is _c.LITERAL and item_arg < 128)
            or (item_op is _c.RANGE and item_arg[1] < 128)
            for item_op, item_arg in arg
        )
        return ascii_set, not plain
    return ascii_set, True  # ANY, NOT_LITERAL: accept non-ASCII characters


def _byte_class(codes: frozenset[int], wide: bool) -> str:
    members = sorted(codes | ({_WIDE} if wide else set()))
    if not members:
        return r"\xff"  # never occurs in a folded text
    return "[" + "".join(f"\\x{m:02x}" for m in members) + "]"


def _relax(items: Iterable[tuple[Any, Any]], flags: int, groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, arg in items:
        if op in _SINGLE_CHAR:
            out.append(_byte_class(*_char_set((op, arg), flags)))
        elif op is _c.SUBPATTERN:
            group, add, remove, body = arg
            inner = _relax(body, (flags | add) & ~remove, groups)
            if group is not None:
                groups[group] = inner
            out.append(f"(?:{inner})")
        elif op is _c.ATOMIC_GROUP:
            out.append(f"(?:{_relax(arg, flags, groups)})")
        elif op is _c.BRANCH:
            out.append("(?:" + "|".join(_relax(b, flags, groups) for b in arg[1]) + ")")
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            low, high, body = arg
            # Wide bounded repeats are costly to compile; an open upper bound only widens.
            bound = "" if high == _c.MAXREPEAT or high > _MAX_BOUND else str(high)
            out.append(f"(?:{_relax(body, flags, groups)}){{{low},{bound}}}")
        elif op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            continue  # zero-width: dropping it only widens what matches
        elif op is _c.GROUPREF:
            if arg not in groups:
                raise _UnsupportedError("forward reference")
            out.append(f"(?:{groups[arg]})")
        elif op is _c.GROUPREF_EXISTS:
            _, yes, no = arg
            branches = [_relax(yes, flags, groups), _relax(no, flags, groups) if no else ""]
            out.append("(?:" + "|".join(branches) + ")")
        else:
            raise _UnsupportedError(str(op))
    return "".join(out)


def relax(regex: re.Pattern[str]) -> bytes | None:
    """The hyperscan expression accepting a superset of ``regex`` on folded text, or None."""
    try:
        parsed = _re_parser.parse(regex.pattern, regex.flags)
        flags = parsed.state.flags
        items = list(parsed.data)
        head, tail = _edge_guards(items, flags)
        return (head + _relax(items, flags, {}) + tail).encode("ascii")
    except (_UnsupportedError, re.error, RecursionError):
        return None


def _single(node: Any) -> bool:
    return isinstance(node, tuple) and node[0] in _SINGLE_CHAR


def _outside(nodes: Iterable[tuple[Any, Any]], flags: int) -> str:
    """A byte class of the characters none of ``nodes`` accepts (plus the folded byte:
    some non-ASCII character always passes, so the class stays a superset)."""
    taken: set[int] = set()
    for node in nodes:
        taken |= _char_set(node, flags)[0]
    return _byte_class(frozenset(range(128)) - taken, True)


def _edge_guards(items: list[tuple[Any, Any]], flags: int) -> tuple[str, str]:
    """Hyperscan forms of the one-character guards at the edges of a whole pattern.

    ``(?<![SET])`` before the first consumed character becomes "start of text or a
    character outside SET"; ``(?![SET]|...)`` after the last one becomes "a character
    outside the one-character alternatives, or end of text". A pattern rewritten as
    ``D(?<![SET]D)…`` (see ``recognizers.patterns._digit_first``) gets the same guard.
    Each is implied by the original assertion, so the relaxed form stays a superset;
    it only stops the gate from firing inside longer digit or word runs.
    """
    head = ""
    lead = 0
    while lead < len(items) and items[lead][0] in (_c.ASSERT, _c.ASSERT_NOT, _c.AT):
        op, arg = items[lead]
        if op is _c.ASSERT_NOT and arg[0] == -1 and len(arg[1]) == 1 and _single(arg[1][0]):
            head += f"(?:^|{_outside([arg[1][0]], flags)})"
        lead += 1
    if (
        not head
        and len(items) > lead + 1
        and _single(items[lead])
        and items[lead + 1][0] is _c.ASSERT_NOT
        and items[lead + 1][1][0] == -1
        and len(items[lead + 1][1][1]) == 2
        and all(_single(n) for n in items[lead + 1][1][1])
    ):
        before, again = items[lead + 1][1][1]
        first_set, first_wide = _char_set(items[lead], flags)
        again_set, again_wide = _char_set(again, flags)
        if first_set <= again_set and (again_wide or not first_wide):
            head = f"(?:^|{_outside([before], flags)})"
    tail = ""
    last = items[-1] if items else None
    if last is not None and last[0] is _c.ASSERT_NOT and last[1][0] == 1:
        body = list(last[1][1])
        choices = body[0][1][1] if len(body) == 1 and body[0][0] is _c.BRANCH else [body]
        singles = [c[0] for c in choices if len(c) == 1 and _single(c[0])]
        if singles:
            tail = f"(?:{_outside(singles, flags)}|$)"
    return head, tail


class Prefilter:
    """Which of a fixed set of regexes may match a text, from one hyperscan scan."""

    def __init__(self, regexes: Iterable[re.Pattern[str]]) -> None:
        always: set[int] = set()
        self._db: Any = None
        self._local = threading.local()
        unique = {id(r): r for r in regexes}
        expressions: list[bytes] = []
        self._ids: list[int] = []
        for key, regex in unique.items():
            relaxed = relax(regex) if _hs is not None else None
            if relaxed is None or _matches_empty(relaxed):
                always.add(key)
            else:
                expressions.append(relaxed)
                self._ids.append(key)
        self._always = frozenset(always)
        if _hs is not None and expressions:
            self._db = self._compile(expressions)

    def _compile(self, expressions: list[bytes]) -> Any:
        assert _hs is not None
        flags = _hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_ALLOWEMPTY
        db = _hs.Database()
        try:
            db.compile(
                expressions=expressions,
                ids=list(range(len(expressions))),
                elements=len(expressions),
                flags=[flags] * len(expressions),
            )
            return db
        except _hs.error:
            pass
        # One expression the engine refuses (too large, say): run that regex always.
        kept_expr, kept_ids = [], []
        for expr, key in zip(expressions, self._ids, strict=True):
            probe = _hs.Database()
            try:
                probe.compile(expressions=[expr], ids=[0], elements=1, flags=[flags])
            except _hs.error:
                self._always |= {key}
                continue
            kept_expr.append(expr)
            kept_ids.append(key)
        self._ids = kept_ids
        if not kept_expr:
            return None
        return self._compile(kept_expr)

    @property
    def active(self) -> bool:
        """True when scans really filter (hyperscan present and the database built)."""
        return self._db is not None

    def possible(self, text: str) -> set[int] | None:
        """``id()`` of every regex that may match ``text``; None means "assume all"."""
        if self._db is None:
            return None
        if text.isascii():
            data = text.encode("ascii")
        elif any(twin in text for twin in _CASE_TWINS):
            return None
        else:
            data = _NON_ASCII.sub("\x80", text).encode("latin-1")
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:  # scans release the GIL: one scratch space per thread
            scratch = self._local.scratch = _hs.Scratch(self._db)  # type: ignore[union-attr]
        hits: list[int] = []
        self._db.scan(data, match_event_handler=_collect, context=hits, scratch=scratch)
        possible = set(map(self._ids.__getitem__, hits))
        if self._always:
            possible |= self._always
        return possible


def _collect(index: int, start: int, end: int, flags: int, hits: list[int]) -> None:
    hits.append(index)


def _matches_empty(expression: bytes) -> bool:
    """A relaxed form that matches the empty string fires on every text: no use as a gate."""
    try:
        return re.fullmatch(expression, b"") is not None
    except re.error:
        return True


_CATEGORY_CLASS = {_c.CATEGORY_DIGIT: r"\d", _c.CATEGORY_SPACE: r"\s"}


def _first_nodes(items: Iterable[tuple[Any, Any]]) -> tuple[list[Any], bool] | None:
    """Class items that can open a match (union), and whether the sequence may be empty.

    None when that cannot be told (or the answer is a negated class: no gain).
    """
    out: list[Any] = []
    for op, arg in items:
        if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            continue  # zero-width: the first consumed character comes later
        if op is _c.LITERAL:
            out.append((_c.LITERAL, arg))
            return out, False
        if op is _c.IN:
            if any(item_op is _c.NEGATE for item_op, _ in arg):
                return None
            out.extend(arg)
            return out, False
        if op is _c.SUBPATTERN and (arg[1] or arg[2]):
            return None  # local flags ("(?i:...)") would not carry over to the look-ahead
        if op in (_c.SUBPATTERN, _c.ATOMIC_GROUP, _c.MAX_REPEAT, _c.MIN_REPEAT):
            body = arg[-1] if op is not _c.ATOMIC_GROUP else arg
            inner = _first_nodes(body)
            if inner is None:
                return None
            out.extend(inner[0])
            required = op in (_c.SUBPATTERN, _c.ATOMIC_GROUP) or arg[0] > 0
            if required and not inner[1]:
                return out, False
            continue
        if op is _c.BRANCH:
            empty = False
            for branch in arg[1]:
                inner = _first_nodes(branch)
                if inner is None:
                    return None
                out.extend(inner[0])
                empty = empty or inner[1]
            if not empty:
                return out, False
            continue
        return None
    return out, True


def _escape_member(code: int) -> str:
    return "\\" + chr(code) if chr(code) in "-]\\^[" else re.escape(chr(code))


def first_char_lookahead(regex: re.Pattern[str]) -> re.Pattern[str]:
    """``regex`` with a leading ``(?=[first characters])`` (exactly the same matches).

    A pattern opening with a look-behind or an optional part makes the regex engine
    run its full matcher at every position; a one-class look-ahead rejects most
    positions at once (10-20 % faster scans here). Patterns that already open with a
    class or literal (the engine skips ahead on those itself), may match empty, or
    start with a near-universal class are returned unchanged.
    """
    parsed = _re_parser.parse(regex.pattern, regex.flags)
    if not parsed.data or parsed.data[0][0] in (_c.IN, _c.LITERAL):
        return regex
    first = _first_nodes(parsed.data)
    if first is None or first[1]:
        return regex
    members = []
    for op, arg in first[0]:
        if op is _c.LITERAL:
            members.append(_escape_member(arg))
        elif op is _c.RANGE:
            members.append(f"{_escape_member(arg[0])}-{_escape_member(arg[1])}")
        elif op is _c.CATEGORY and arg in _CATEGORY_CLASS:
            members.append(_CATEGORY_CLASS[arg])
        else:
            return regex  # \w, \S and friends: nearly every position passes
    unique = "".join(dict.fromkeys(members))
    flags = _GLOBAL_FLAGS.match(regex.pattern)
    cut = flags.end() if flags else 0  # inline global flags must stay in front
    try:
        return re.compile(f"{regex.pattern[:cut]}(?=[{unique}]){regex.pattern[cut:]}", regex.flags)
    except re.error:  # pragma: no cover - defensive: keep the original
        return regex


_GLOBAL_FLAGS = re.compile(r"(?:\(\?[aiLmsux]+\))+")

"""Find a regex's matches from a rare anchor character instead of trying every position.

Python's regex engine tries a pattern at every position its first character class
accepts. For e-mail addresses and domain names that class is "any letter or digit",
so a 2 KB reply costs ~2,000 failed attempts per pattern (a quarter of a millisecond
each for the two of them), although the values hang on a rare character ("@", ".").

``AnchoredScan`` enumerates exactly what ``regex.finditer(text)`` would, for a regex
with three properties that its author states (and the tests check on random texts):

1. every match contains the ``anchor`` character;
2. a match can only start where the character before it is not a ``segment``
   character (the regex opens with the look-behind ``(?<![segment])``);
3. the characters of a match from its start up to any anchor inside it are all
   ``segment`` characters;
4. (optional) inside a match, an anchor is always followed by a ``follow`` character
   (a sentence's full stop followed by a space then costs one test, not a match).

Then a match containing an anchor at ``a`` starts exactly where the run of segment
characters ending just before ``a`` starts, so one ``regex.match`` there per anchor
(anchors found with ``str.find``, runs measured backwards in C) finds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AnchoredScan:
    """``regex.finditer`` for a regex with the three properties in the module docstring."""

    regex: re.Pattern[str]
    anchor: str
    #: One character class, e.g. ``r"[\\w@.:/-]"``: the characters the look-behind refuses.
    segment: str
    #: One character class that follows every anchor inside a match; "" if none is known.
    follow: str = ""
    _run: re.Pattern[str] = field(init=False, repr=False)
    _follow: re.Pattern[str] | None = field(init=False, repr=False)
    _anchor_in_segment: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.anchor) != 1:
            raise ValueError("the anchor is one character")
        run = re.compile(f"{self.segment}*", self.regex.flags & re.ASCII)
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_anchor_in_segment", run.fullmatch(self.anchor) is not None)
        follow = re.compile(self.follow, self.regex.flags) if self.follow else None
        object.__setattr__(self, "_follow", follow)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """The matches ``self.regex.finditer(text)`` yields, in the same order."""
        find, anchor, match, follow = text.find, self.anchor, self.regex.match, self._follow
        resume = 0  # finditer goes on from the end of the last match
        tried = -1  # run start tried last (its answer does not change)
        previous, previous_start = -1, -1  # last anchor position and its run start
        at = find(anchor)
        while at >= 0:
            if follow is not None and follow.match(text, at + 1) is None:
                at = find(anchor, at + 1)
                continue  # no match holds this anchor
            start = self._run_start(text, at, previous + 1)
            if start == previous + 1 and previous >= 0 and self._anchor_in_segment:
                start = previous_start  # the run goes on through the previous anchor
            if start != tried and start >= resume:
                tried = start
                found = match(text, start)
                if found is not None:
                    resume = found.end()
                    yield found
            previous, previous_start = at, start
            at = find(anchor, at + 1)

    def _run_start(self, text: str, end: int, floor: int) -> int:
        """Start of the run of segment characters ending at ``end`` (not below ``floor``)."""
        width = 64
        while True:
            low = max(floor, end - width)
            back = self._run.match(text[low:end][::-1])
            length = back.end() if back is not None else 0
            if length < end - low or low == floor:
                return end - length
            width *= 8

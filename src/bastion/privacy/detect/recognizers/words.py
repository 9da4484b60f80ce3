"""Dictionary and token-shape recognizers: people, places, organisations, groups, titles.

No model is loaded: capitalised tokens are looked up in bundled word lists (derived
from Faker's locale providers), and their shape and neighbours decide. Everything runs
over the capitalised tokens only, so the cost grows with the number of names, not with
the length of the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from bastion.privacy.detect import lexicon
from bastion.privacy.detect.lexicon import split_words
from bastion.privacy.detect.prefilter import first_char_lookahead
from bastion.privacy.detect.recognizer import Document, memo
from bastion.privacy.detect.span import Span

# Both start with a character class and check the character before the match with a
# look-behind placed after it: the regex engine then skips ahead in C between candidates.
_UPPER = "[A-ZÀ-ÖØ-ÞĀ-Žƀ-ɏ]"
_CAP_TOKEN = re.compile(_UPPER + r"(?<![\w@/\\]" + _UPPER + r")[^\W\d_]*(?:['’\-][^\W\d_]+)*")
_LOWER_WORD = re.compile(r"[a-z](?<![\w@./-][a-z])[a-z'’\-]*")
_PARTICLES = re.compile(
    r" (?:(?:van|von|der|den|de|del|della|di|da|du|le|la|dos|das|do|ten|ter|bin|ibn|al|el|y) )+"
)
#: What a gap joined by ``_PARTICLES`` opens with: a space, then one of these letters.
_PARTICLE_FIRST = frozenset("vdlbiaety")
_PERSON_AFTER = frozenset(
    split_words("said says wrote asked called replied reports reported told thinks wants mentioned")
)
_CITY_STATE = re.compile(r", ([A-Z]{2})(?:\s+\d{5}(?:-\d{4})?)?(?![\w-])")
_COMMA_CAPITAL = re.compile(r",\s*[A-Z][a-z]+")
_RAW_WORD = re.compile(r"[^\W_]+")
_CONJUNCTIONS = frozenset(split_words("and y e und et en"))
_INSTITUTIONS = frozenset(
    split_words("university bank institute college department ministry school")
)
#: State codes that are also degrees written after a name ("Rebecca Tan, MD"): without a
#: ZIP code after them they are not evidence of a place.
_CREDENTIALS = frozenset(split_words("MD DO PA"))


def _state_after(match: re.Match[str] | None, before: str) -> bool:
    """True when ``match`` (of ``_CITY_STATE``) is a real ", ST" and not a degree after a
    person's name (``before`` is the lower-cased word in front of the comma)."""
    if match is None or match.group(1) not in lexicon.US_STATE_ABBR:
        return False
    if match.group(1) not in _CREDENTIALS or any(ch.isdigit() for ch in match.group()):
        return True
    return before in lexicon.places() or not any(_name_kind(before))


_TOWN_WORDS = frozenset(
    split_words("ville city town burg bourg stadt dorf village heights springs")
)
_DETERMINERS = frozenset(
    split_words("the a an this that these those your my our his her their its to")
)
_SENTENCE_END = frozenset('.!?\n•*#>|"“')
_PERSON_CONTEXT = frozenset(
    split_words(
        """dear hi hello hey thanks thank dr mr mrs ms by name named patient pt contact contacted
    client customer spoke called call signed sincerely regards cc attn attention per
    wife husband son daughter mother father brother sister friend colleague manager
    nurse physician provider referred seen saw met visited meet emailed agent rep user
    member employee guardian caregiver spouse partner witness author reviewer assigned
    owner applicant tenant candidate mom dad uncle aunt cousin grandson granddaughter"""
    )
)
_PLACE_CONTEXT = frozenset(
    split_words(
        """in from to near at visiting visited lives live living lived moved relocated city town
    village located based born travel traveled travelled trip resides reside resident county
    province state country region headquartered hometown outside across"""
    )
)
_ORG_CONTEXT = frozenset(
    split_words(
        """at company employer works worked working employed firm corporation joined insurer
    vendor bank client organization organisation"""
    )
)


@dataclass(slots=True)
class Token:
    """One capitalised word with its offsets (``lower`` precomputed: it is read often)."""

    start: int
    end: int
    text: str
    lower: str


class _Scan:
    """Per-document view: capitalised tokens, runs of adjacent ones, and cheap facts."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self._written: dict[str, bool] = {}
        text = doc.text
        tokens: list[Token] = []
        self.tokens = tokens
        for m in _CAP_TOKEN.finditer(text):
            word = m.group()
            if not word[0].isupper():
                continue
            if word.endswith(("'s", "’s")) and len(word) > 3:
                word = word[:-2]
            start = m.start()
            tokens.append(Token(start, start + len(word), word, word.lower()))

    @memo
    def lowercase_vocab(self) -> frozenset[str]:
        """Words the document itself writes in lower case: evidence they are common words."""
        return frozenset(_LOWER_WORD.findall(self.doc.text))

    def written_lower(self, low: str) -> bool:
        """``low in lowercase_vocab``; a word absent from the text as a substring is not
        in it, which spares building the vocabulary for most documents. Memoised per
        document: a name or place is usually mentioned more than once."""
        known = self._written.get(low)
        if known is None:
            known = self._written[low] = low in self.doc.text and low in self.lowercase_vocab
        return known

    def joined(self, a: Token, b: Token) -> bool:
        """True when ``b`` directly follows ``a`` inside one name ("John Smith", "J. Smith")."""
        gap = self.doc.text[a.end : b.start]
        if gap == " ":
            return True
        if gap in {". ", ".  "} and (len(a.text) == 1 or a.lower in lexicon.HONORIFICS):
            return True
        if len(a.text) == 1 or a.lower in lexicon.HONORIFICS:
            gap = gap.removeprefix(".")
        return bool(_PARTICLES.fullmatch(gap))

    def runs(self) -> Iterator[list[Token]]:
        """Maximal sequences of adjacent capitalised tokens."""
        run: list[Token] = []
        text = self.doc.text
        for token in self.tokens:
            if run:
                last = run[-1]
                # A single space joins (the common case, checked inline); else the rules,
                # which need the gap to open with a period, or with a space and a particle.
                end = last.end
                gap = token.start - end
                if not (gap == 1 and text[end] == " ") and (
                    gap == 0
                    or (text[end] != "." and text[end + 1 : end + 2] not in _PARTICLE_FIRST)
                    or not self.joined(last, token)
                ):
                    yield run
                    run = []
            run.append(token)
        if run:
            yield run

    def sentence_start(self, token: Token) -> bool:
        """True at the start of a text or line, or after . ! ? (capitals say little there)."""
        text = self.doc.text
        i = token.start - 1
        while i >= 0 and text[i] in " \t\r(\"'“‘[":
            if text[i] in "\"'“‘(" and i == token.start - 1:
                pass
            i -= 1
        return i < 0 or text[i] in _SENTENCE_END

    def word_before(self, token: Token) -> str:
        words = self.doc.words_before(token.start, 24)
        return words[-1] if words else ""

    def ends_with_period(self, token: Token) -> bool:
        return self.doc.text[token.end : token.end + 1] == "."


_KIND_CACHE: dict[str, tuple[bool, bool]] = {}
_KIND_CACHE_MAX = 200_000


def _name_kind(word: str) -> tuple[bool, bool]:
    """(is given name, is family name); hyphenated parts must all be known.

    Looked up for the same word several times per run and across documents, so the
    answer is memoised (bounded: the cache is dropped when it reaches its size limit).
    """
    kind = _KIND_CACHE.get(word)
    if kind is None:
        if len(_KIND_CACHE) >= _KIND_CACHE_MAX:
            _KIND_CACHE.clear()
        kind = _KIND_CACHE[word] = _lookup_name_kind(word)
    return kind


def _lookup_name_kind(word: str) -> tuple[bool, bool]:
    parts = [p for p in re.split(r"[-'’]", word) if p] if ("-" in word or "’" in word) else [word]
    firsts, lasts = lexicon.first_names(), lexicon.last_names()
    if len(parts) == 1:
        return word in firsts, word in lasts
    known = all(p in firsts or p in lasts for p in parts)
    return False, known


_INERT_CACHE: dict[str, bool] = {}
_TOWN_CACHE: dict[str, str | None] = {}


def _town_kind(low: str) -> str | None:
    """ "city" when ``low`` is a name stem plus a town ending ("Smithville"); memoised."""
    if low in _TOWN_CACHE:
        return _TOWN_CACHE[low]
    if len(_TOWN_CACHE) >= _KIND_CACHE_MAX:
        _TOWN_CACHE.clear()
    kind = _TOWN_CACHE[low] = WordRecognizer._lookup_town_kind(low)
    return kind


def _inert(word: str) -> bool:
    """True when a capitalised word standing alone (not followed by ", ") yields nothing.

    Such a word is no place, no name, no NRP word, no state code and has no town-name
    ending; ``WordRecognizer._run`` would walk every rule for it and report nothing.
    Most capitalised words (sentence starts, headings) are of this kind. Memoised.
    """
    inert = _INERT_CACHE.get(word)
    if inert is None:
        if len(_INERT_CACHE) >= _KIND_CACHE_MAX:
            _INERT_CACHE.clear()
        low = word.lower()
        inert = _INERT_CACHE[word] = not (
            low in lexicon.places()
            or low in lexicon.NRP_WORDS
            or word in lexicon.US_STATE_ABBR
            or any(_name_kind(low))
            or _town_kind(low) is not None
        )
    return inert


class WordRecognizer:
    """PERSON, LOCATION, ORGANIZATION, NRP and TITLE (honorifics) from one token pass."""

    name = "lexicon"
    entities = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP", "TITLE"})

    def find(self, doc: Document) -> Iterator[Span]:
        scan = _Scan(doc)
        if not scan.tokens:
            return
        text = doc.text
        for run in scan.runs():
            if len(run) == 1 and _inert(run[0].text) and text[run[0].end : run[0].end + 2] != ", ":
                continue  # a lone word no rule below can use (see ``_inert``)
            yield from self._run(scan, run)

    # -- one run of adjacent capitalised tokens ---------------------------------------

    def _run(self, scan: _Scan, run: list[Token]) -> Iterator[Span]:
        common = lexicon.common_words()
        places = lexicon.places()
        org_suffixes = lexicon.company_suffixes()
        i = 0
        while i < len(run):
            token = run[i]
            low = token.lower
            # Honorific: TITLE span, then everything capitalised after it is a name.
            if low in lexicon.HONORIFICS and i + 1 < len(run):
                title_end = token.end + (1 if scan.ends_with_period(token) else 0)
                rest = run[i + 1 : i + 4]
                rest = self._trim_tail(rest, org_suffixes)
                if rest:
                    yield Span(
                        token.start, title_end, "TITLE", 0.6, self.name, f"honorific '{token.text}'"
                    )
                    yield Span(
                        rest[0].start,
                        rest[-1].end,
                        "PERSON",
                        0.92,
                        self.name,
                        f"capitalised words after honorific '{token.text}'",
                    )
                    i += 1 + len(rest)
                    continue
            # Organisation: capitalised words closed by a legal-form/institution word.
            org_end = self._org_end(run, i, org_suffixes)
            if org_end is not None:
                last = run[org_end]
                end = last.end + (1 if scan.ends_with_period(last) and len(last.text) <= 4 else 0)
                yield Span(
                    token.start,
                    end,
                    "ORGANIZATION",
                    0.75,
                    self.name,
                    f"capitalised words ending in '{last.text}'",
                )
                i = org_end + 1
                continue
            # Place: longest known place phrase starting here; a given name followed by
            # another name-like word is a person even when the first word is also a town.
            place = self._place(scan, run, i, places, common)
            if place is not None and place[1] == 1 and any(_name_kind(low)):
                person = self._person(scan, run, i, common)
                if person is not None and person[0].score > place[0].score:
                    place = None
            if place is not None and (place[1] > 1 or not self._starts_full_name(scan, run, i)):
                span, used = place
                yield span
                i += used
                continue
            if (
                len(token.text) == 2
                and token.text in lexicon.US_STATE_ABBR
                and scan.doc.text[token.start - 2 : token.start] == ", "
                and scan.doc.text[token.start - 3 : token.start - 2].isalpha()
                and _state_after(
                    _CITY_STATE.match(scan.doc.text, token.start - 2), scan.word_before(token)
                )
            ):
                yield Span(
                    token.start,
                    token.end,
                    "LOCATION",
                    0.65,
                    self.name,
                    "US state abbreviation after 'City,'",
                )
                i += 1
                continue
            if low in lexicon.NRP_WORDS:
                yield Span(
                    token.start,
                    token.end,
                    "NRP",
                    0.7,
                    self.name,
                    "nationality/religion/politics word",
                )
                i += 1
                continue
            # Person: a stretch of name-like tokens.
            person = self._person(scan, run, i, common)
            if person is not None:
                span, used = person
                yield span
                i += used
                continue
            i += 1

    @staticmethod
    def _starts_full_name(scan: _Scan, run: list[Token], i: int) -> bool:
        if i + 1 >= len(run):
            return False
        given, _ = _name_kind(run[i].lower)
        nxt = run[i + 1]
        n_given, n_family = _name_kind(nxt.lower)
        return given and (n_family or n_given or nxt.lower not in lexicon.common_words())

    def _trim_tail(self, tokens: list[Token], org_suffixes: frozenset[str]) -> list[Token]:
        common = lexicon.common_words()
        out: list[Token] = []
        for token in tokens:
            if (
                token.lower in common and not any(_name_kind(token.lower))
            ) or token.lower in org_suffixes:
                break
            out.append(token)
        return out

    def _org_end(self, run: list[Token], i: int, suffixes: frozenset[str]) -> int | None:
        if run[i].lower in lexicon.FUNCTION_WORDS or run[i].lower in suffixes:
            return None
        for j in range(i + 1, min(len(run), i + 5)):
            if run[j].lower in suffixes:
                return j
        return None

    def _place(
        self, scan: _Scan, run: list[Token], i: int, places: dict[str, str], common: frozenset[str]
    ) -> tuple[Span, int] | None:
        doc = scan.doc
        text = doc.text
        for length in range(min(lexicon.place_max_words(), len(run) - i), 0, -1):
            head, last = run[i], run[i + length - 1]
            phrase = head.lower if length == 1 else " ".join([t.lower for t in run[i : i + length]])
            kind = places.get(phrase)
            shape = ""
            if kind is None and length == 2:
                if head.lower in lexicon.city_prefixes():
                    kind, shape = "city", "town prefix"
                elif last.lower in _TOWN_WORDS:
                    kind, shape = "city", "town word"
            if (
                kind is None
                and length <= 2
                and text.startswith(", ", last.end)  # what _CITY_STATE opens with
                and _state_after(_CITY_STATE.match(text, last.end), last.lower)
            ):
                kind, shape = "city", "before ', ST'"
            if kind is None and length == 1:
                kind, shape = _town_kind(head.lower), "town-name ending"
            if kind is None:
                continue
            words = run[i : i + length]
            start, end = words[0].start, words[-1].end
            score = 0.85 if kind in {"state", "country"} else 0.7
            why = f"{kind} {shape or 'from place list'}"
            if length == 1:
                low = words[0].lower
                given, family = _name_kind(low)
                if low in common or scan.written_lower(low):
                    score -= 0.45
                if given or family:
                    score -= 0.3 if kind == "city" else 0.15
                if scan.sentence_start(words[0]) and kind == "city":
                    score -= 0.1
            hit = doc.context_hit(_PLACE_CONTEXT, start, end, 16, 0)
            if hit is not None:
                score += 0.2
                why += f"; context word '{hit}'"
            if text.startswith(", ", end) and _state_after(
                _CITY_STATE.match(text, end), words[-1].lower
            ):
                score += 0.3
                why += "; followed by ', ST'"
            elif text.startswith(",", end) and _COMMA_CAPITAL.match(text, end, end + 24):
                score += 0.1
            if score >= 0.3:
                return Span(
                    start, end, "LOCATION", round(min(score, 0.95), 3), self.name, why
                ), length
        return None

    @staticmethod
    def _town_shape(token: Token) -> str | None:
        return _town_kind(token.lower)

    @staticmethod
    def _lookup_town_kind(low: str) -> str | None:
        if len(low) < 6 or low in lexicon.common_words() or not low.isalpha():
            return None
        suffixes = lexicon.city_suffix_set()
        for size in lexicon.city_suffix_lengths():
            if len(low) >= size + 3 and low[-size:] in suffixes:
                stem = low[:-size]
                if stem in lexicon.first_names() or stem in lexicon.last_names():
                    return "city"
        return None

    def _person(
        self, scan: _Scan, run: list[Token], i: int, common: frozenset[str]
    ) -> tuple[Span, int] | None:
        doc = scan.doc
        taken: list[Token] = []
        known = 0
        ambiguous = 0
        for token in run[i : i + 4]:
            low = token.lower
            given, family = _name_kind(low)
            is_initial = len(token.text) == 1 and scan.ends_with_period(token)
            is_common = low in common or scan.written_lower(low)
            if is_initial and taken:
                taken.append(token)
                continue
            if token.text.isupper() and len(token.text) > 1 and not (given or family):
                break
            if is_common and not (given or family):
                break
            if low in lexicon.NRP_WORDS or (low in lexicon.places() and not (given or family)):
                break
            if taken and not (given or family or is_initial) and token.text.isupper():
                break
            taken.append(token)
            if given or family:
                known += 1
                if is_common:
                    ambiguous += 1
        if not taken or known == 0:
            return None
        first = taken[0]
        if len(taken) >= 2:
            score = 0.85 if known >= 2 else 0.7
            if ambiguous == known:
                score -= 0.25
            if all(t.text.isupper() for t in taken):
                score -= 0.2
            why = f"{len(taken)} adjacent capitalised words, {known} in name lists"
        else:
            low = first.lower
            given, family = _name_kind(low)
            score = 0.6 if given else 0.45
            why = "given name" if given else "family name"
            if ambiguous:
                score -= 0.3
                if scan.sentence_start(first):
                    score -= 0.1
            if first.text.isupper():
                return None
            follower = doc.text[first.end : first.end + 1]
            after = doc.first_word_after(first.end, 12)
            if follower == ":" or _PERSON_AFTER.intersection(after):
                score += 0.2
                why += "; speaker label or reporting verb after"
            if _DETERMINERS.intersection(doc.first_word_after(first.end, 8)) and (
                scan.doc.text[first.end : first.end + 1] == " "
            ):
                score -= 0.3
        hit = doc.context_hit(_PERSON_CONTEXT, first.start, taken[-1].end, 24, 0)
        if hit is not None:
            score += 0.25
            why += f"; context word '{hit}'"
        if score < 0.2:
            return None
        span = Span(
            first.start, taken[-1].end, "PERSON", round(min(score, 0.95), 3), self.name, why
        )
        return span, len(taken)


_STREET_HEAD = first_char_lookahead(
    re.compile(
        r"(?<![\w\-/.:])\d{1,6}[A-Z]?(?:-\d{1,4})?[ \t]+"
        r"(?P<words>(?:[A-Z0-9][\w'’.\-]*[ \t]+){0,4}[A-Z][\w'’\-]*\.?)"
    )
)
_STREET_WORD = re.compile(r"[\w'’.\-]+")
_SECONDARY = (
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Room|Rm|Floor|Fl|Bldg|#)\.?\s*#?\s*[\w-]{1,6})?"
)
_CITY_STATE_ZIP = (
    r"(?:,?[ \t]*\n?[ \t]*(?:[A-Z][\w'’.\-]*[ \t]){0,3}[A-Z][\w'’.\-]*,[ \t]*(?:[A-Z]{2}|STATES)"
    r"[ \t]+\d{5}(?:-\d{4})?(?!\d))?"
)


class AddressRecognizer:
    """Street addresses (number + street + kind, optional unit and "City, ST 12345")."""

    name = "street_address"
    entities = frozenset({"STREET_ADDRESS"})

    @cached_property
    def _patterns(self) -> list[tuple[re.Pattern[str], float]]:
        european = (
            r"\b[A-ZÄÖÜ][\wäöüß\-]*(?:straße|strasse|str\.|gasse|weg|platz|allee|ring|damm|"
            r"straat|laan|gracht|plein|vej|gatan|gata|vägen|veien)\s+\d{1,4}[a-z]?\b"
            r"(?:,?\s+\d{4,5}\s+[A-ZÄÖÜ][\wäöüß\-]+)?"
        )
        romance = (
            r"\b(?:\d{1,4}(?:\s?(?:bis|ter))?,?\s+)?(?:rue|avenue|boulevard|chemin|impasse|allée|"
            r"quai|Calle|Avenida|Plaza|Paseo|Camino|Carrera|Via|Viale|Piazza|Corso|Rua|Travessa|"
            r"Largo|Rue|Avenue|Boulevard|Chemin|Impasse|Allée|Quai)\s+(?:(?:de|del|della|di|da|do|"
            r"dos|das|du|des|la|le|les|l'|d')\s*)*[A-ZÀ-Þ][\w'’\-]*(?:\s+[A-ZÀ-Þ][\w'’\-]*){0,3}"
            r"(?:,?\s*(?:n[º°o.]\s*)?\d{1,4})?(?:,?\s+\d{4,5}\s+[A-ZÀ-Þ][\w'’\-]+)?"
        )
        military = (
            r"\b(?:(?:USNS|USNV|USS|USCGC)\s+[A-Z][a-z]+|(?:PSC|Unit)\s+\d{4},?\s+Box\s+\d{4})"
            r",?\s*\n?\s*[ADF]PO\s+A[AEP]\s+\d{5}\b"
        )
        return [
            (first_char_lookahead(re.compile(european)), 0.75),
            (first_char_lookahead(re.compile(romance)), 0.75),
            (first_char_lookahead(re.compile(military)), 0.9),
            (
                first_char_lookahead(re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d{1,6}\b", re.IGNORECASE)),
                0.8,
            ),
        ]

    #: Per pattern above, words one of which the text must contain (lower-cased, ASCII
    #: runs: "allée" is seen as "all"); a text without them skips the pattern's scan.
    _GATES = (
        None,
        split_words(
            "rue avenue boulevard chemin impasse all quai calle avenida plaza paseo camino "
            "carrera via viale piazza corso rua travessa largo"
        ),
        split_words("apo fpo dpo"),
        split_words("box"),
    )

    #: The European pattern needs one of these street endings right before a number.
    _EUROPEAN_PROBE = re.compile(
        r"(?:straße|strasse|str\.|gasse|weg|platz|allee|ring|damm|straat|laan|gracht|plein|vej|"
        r"gatan|gata|vägen|veien)\s+\d"
    )

    @cached_property
    def _rest(self) -> re.Pattern[str]:
        states = "|".join(re.escape(s) for s in lexicon.US_STATES)
        return re.compile(r"\.?" + _SECONDARY + _CITY_STATE_ZIP.replace("STATES", states))

    def _number_first(self, doc: Document) -> Iterator[Span]:
        """Building number, up to five capitalised words; the street kind is checked by set look-up
        (one pass and a hash probe instead of a 600-way regex alternation)."""
        suffixes = lexicon.street_suffixes()
        text = doc.text
        for match in _STREET_HEAD.finditer(text):
            words = list(_STREET_WORD.finditer(text, match.start("words"), match.end("words")))
            cut = None
            for index in range(len(words) - 1, 0, -1):
                if words[index].group().rstrip(".").lower() in suffixes:
                    cut = words[index].end()
                    break
            if cut is None:
                continue
            if text[cut - 1] == ".":
                cut -= 1
            rest = self._rest.match(text, cut)
            end = rest.end() if rest else cut
            while end > match.start() and text[end - 1] in " \t\n,":
                end -= 1
            yield Span(
                match.start(), end, "STREET_ADDRESS", 0.85, self.name, "street address shape"
            )

    def prefilter_regexes(self) -> list[re.Pattern[str]]:
        return [_STREET_HEAD, *(regex for regex, _ in self._patterns)]

    def find(self, doc: Document) -> Iterator[Span]:
        if not doc.has_digit:
            return
        if doc.may_match(_STREET_HEAD):
            yield from self._number_first(doc)
        words = doc.word_set
        for index, (regex, score) in enumerate(self._patterns):
            if not doc.may_match(regex):
                continue
            gate = self._GATES[index]
            if gate is None:
                if doc.possible is None and self._EUROPEAN_PROBE.search(doc.text) is None:
                    continue
            elif words.isdisjoint(gate):
                continue
            for match in regex.finditer(doc.text):
                start, end = match.span()
                value = match.group()
                while end > start and value[end - start - 1] in " \t\n,":
                    end -= 1
                yield Span(start, end, "STREET_ADDRESS", score, self.name, "street address shape")


class OrganizationRecognizer:
    """Firm names: "Smith, Jones and Brown", "Smith-Jones", "Acme Widgets LLC", "Bank of X"."""

    name = "organization"
    entities = frozenset({"ORGANIZATION"})

    @cached_property
    def _patterns(self) -> list[tuple[re.Pattern[str], float]]:
        cap = r"[A-ZÀ-Þ][\w'’]+"
        suffixes = sorted(
            {s.strip() for s in _suffix_forms() if len(s.strip()) > 1}, key=len, reverse=True
        )
        alt = "|".join(re.escape(s) for s in suffixes)
        patterns = [
            (re.compile(rf"\b{cap}, {cap},? (?:and|&|y|e|und|et|en) {cap}\b"), 0.8),
            (
                re.compile(
                    rf"\b{cap}(?:[ -]{cap}|(?: y| e| and| &| und| et) {cap}){{0,3}},? "
                    rf"(?:{alt})(?![\w])"
                ),
                0.9,
            ),
            (
                re.compile(
                    rf"\b(?:University|Bank|Institute|College|Department|Ministry|School)"
                    rf" of(?: the)? {cap}(?: {cap}){{0,2}}"
                ),
                0.75,
            ),
            (re.compile(rf"(?<![\w-]){cap}-{cap}(?![\w-])"), 0.5),
        ]
        return [(first_char_lookahead(regex), score) for regex, score in patterns]

    @cached_property
    def _suffix_gate(self) -> frozenset[str]:
        """One word (case kept) of every legal-form suffix: a text with none skips the scan."""
        keys = set()
        for suffix in _suffix_forms():
            words = _RAW_WORD.findall(suffix.strip())
            if len(suffix.strip()) > 1 and words:
                keys.add(max(words, key=len))
        return frozenset(keys)

    def _skip(self, doc: Document, index: int) -> bool:
        """Cheap evidence that pattern ``index`` cannot match ``doc``."""
        if index == 0:
            return doc.word_set.isdisjoint(_CONJUNCTIONS) and "&" not in doc.text
        if index == 1:
            return doc.raw_words.isdisjoint(self._suffix_gate)
        if index == 2:
            return "of" not in doc.word_set or doc.word_set.isdisjoint(_INSTITUTIONS)
        return "-" not in doc.text

    def prefilter_regexes(self) -> list[re.Pattern[str]]:
        return [regex for regex, _ in self._patterns]

    def find(self, doc: Document) -> Iterator[Span]:
        for index, (regex, score) in enumerate(self._patterns):
            if not doc.may_match(regex) or self._skip(doc, index):
                continue
            for match in regex.finditer(doc.text):
                start, end = match.span()
                if index == 3:
                    parts = match.group().lower().split("-")
                    if not all(p in lexicon.last_names() for p in parts):
                        continue
                    before = doc.words_before(start, 16)
                    if before and before[-1] in lexicon.first_names():
                        continue
                    hit = doc.context_hit(_ORG_CONTEXT, start, end, 24, 0)
                    yield Span(
                        start,
                        end,
                        "ORGANIZATION",
                        0.7 if hit else score,
                        self.name,
                        "hyphenated family names" + (f"; context '{hit}'" if hit else ""),
                    )
                    continue
                yield Span(start, end, "ORGANIZATION", score, self.name, "organisation name shape")


def _suffix_forms() -> list[str]:
    from importlib import resources

    text = resources.files("bastion.privacy.detect").joinpath("data", "company_suffixes.txt")
    return [line for line in text.read_text("utf-8").splitlines() if line]

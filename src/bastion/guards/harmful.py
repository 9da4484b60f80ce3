"""Harmful content: offensive language (bundled model) plus self-harm, violence, hate and sexual
content (patterns).

Patterns target the harmful use, not the word: "kill a process", "shoot a
photo" or "sexual health" do not match; "I will kill you", instructions for
self-harm or weapons, dehumanising statements about a group, and explicit
sexual content do.  Each category has its own action (block, redact, flag).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bastion.guards.base import Action, Guard, ScanContext, Verdict, merge_spans, replace_spans
from bastion.guards.literals import GatedPatterns
from bastion.guards.profanity import profanity_model
from bastion.privacy.detect.prefilter import Prefilter
from bastion.privacy.detect.span import Span

CATEGORIES = ("profanity", "self-harm", "violence", "hate", "sexual", "sexual-minors")
DEFAULT_ACTIONS: dict[str, Action] = {
    "profanity": Action.REDACT,
    "self-harm": Action.BLOCK,
    "violence": Action.BLOCK,
    "hate": Action.BLOCK,
    "sexual": Action.REDACT,
    "sexual-minors": Action.BLOCK,
}
_I = re.IGNORECASE
_NOT_COMPUTING = (
    r"(?!\s+(?:-\d|the\s+|a\s+|an\s+|all\s+|my\s+|your\s+|its\s+|this\s+|that\s+)?"
    r"(?:child\s+|zombie\s+|background\s+|running\s+|hung\s+)?"
    r"(?:process(?:es)?|threads?|jobs?|tasks?|pids?|sessions?|containers?|pods?|servers?|"
    r"commands?|programs?|apps?|signals?|switch|connections?|queries|query|workers?|daemons?|"
    r"services?|instances?|time|the\s+lights|the\s+engine|weeds?|bugs|bacteria|germs))"
)
_PERSON = (
    r"(?:you|u|him|her|them|everyone|everybody|all\s+of\s+you|people|my\s+(?:wife|husband|boss|"
    r"neighbou?r|teacher|family|parents|mother|father|sister|brother|ex)|your\s+(?:family|kids|"
    r"children|wife|husband|mother)|the\s+(?:president|judge|teacher|police|students|kids))"
)
_GROUP = (
    r"(?:jews|jewish\s+people|muslims|christians|hindus|sikhs|blacks|black\s+people|whites|"
    r"white\s+people|asians|arabs|mexicans|latinos|immigrants|migrants|refugees|gays|gay\s+people|"
    r"lesbians|homosexuals|trans\s+people|transgender\s+people|women|gypsies|roma|africans|"
    r"chinese|indians|juden|muslime|ausländer|flüchtlinge|schwule|frauen)"
)

# (category, triggers, pattern): a pattern runs only when a lowercase trigger occurs.
_PATTERNS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "self-harm",
        ("myself", "yourself", "oneself", "suicide", "life", "overdose"),
        re.compile(
            r"\b(?:how\s+(?:to|do\s+i|can\s+i|should\s+i)|best\s+way\s+to|ways\s+to|easiest\s+way\s+to|"
            r"painless\s+way\s+to|methods?\s+(?:to|of|for))\s+(?:kill\s+(?:myself|yourself|oneself)|"
            r"commit\s+suicide|end\s+(?:my|your|one'?s)\s+(?:own\s+)?life|hurt\s+(?:myself|yourself)|"
            r"cut\s+(?:myself|yourself)|overdose|hang\s+(?:myself|yourself))",
            _I,
        ),
    ),
    (
        "self-harm",
        (
            "yourself",
            "kys",
            "myself",
            "suicide",
            "end it all",
            "my life",
            "umbringen",
            "sterben",
            "nicht mehr leben",
            "bring dich um",
        ),
        re.compile(
            r"\b(?:you\s+should|just\s+go\s+and|go)\s+(?:kill\s+yourself|end\s+your\s+life|"
            r"commit\s+suicide|hurt\s+yourself)\b|\bkys\b|\b(?:i\s+(?:want|am\s+going|'m\s+going|plan)\s+to|"
            r"i\s+will)\s+(?:kill\s+myself|end\s+(?:it\s+all|my\s+life)|commit\s+suicide)\b|"
            r"\b(?:wie\s+(?:bringe\s+ich\s+mich\s+um|kann\s+ich\s+mich\s+umbringen)|"
            r"ich\s+will\s+(?:mich\s+umbringen|sterben|nicht\s+mehr\s+leben)|bring\s+dich\s+um)\b",
            _I,
        ),
    ),
    (
        "violence",
        (
            "kill",
            "murder",
            "shoot",
            "stab",
            "strangle",
            "behead",
            "slaughter",
            "beat up",
            "torture",
            "rape",
        ),
        re.compile(
            r"\b(?:i(?:'ll|\s+will|\s+am\s+going\s+to|'m\s+going\s+to|'m\s+gonna|\s+want\s+to)|"
            r"we(?:'ll|\s+will|\s+are\s+going\s+to)|gonna)\s+(?:kill|murder|shoot|stab|strangle|"
            r"behead|slaughter|beat\s+up|torture|rape)" + _NOT_COMPUTING + r"\s+" + _PERSON + r"\b",
            _I,
        ),
    ),
    (
        "violence",
        ("kill", "murder", "shoot", "stab", "slaughter", "massacre"),
        re.compile(
            r"\b(?:kill|murder|shoot|stab|slaughter|massacre)\s+(?:all|every|as\s+many)\s+(?:of\s+the\s+)?"
            r"(?:people|kids|children|students|classmates|coworkers|worshippers|civilians)\b"
            r"(?!\s+(?:process|processes|threads?|jobs?))|\bshoot\s+up\s+(?:a|the|my|our)\s+"
            r"(?:school|church|mosque|synagogue|mall|office|concert|class)\b",
            _I,
        ),
    ),
    (
        "violence",
        (
            "bomb",
            "explosive",
            "molotov",
            "nerve agent",
            "sarin",
            "ricin",
            "bioweapon",
            "chemical weapon",
            "ghost gun",
            "napalm",
            "dich um",
        ),
        re.compile(
            r"\b(?:how\s+(?:to|do\s+i|can\s+i)|steps\s+to|instructions\s+(?:to|for))\s+(?:make|build|"
            r"assemble|construct|synthesi[sz]e|produce)\s+(?:a\s+|an\s+)?(?:homemade\s+)?(?:pipe\s+bomb|"
            r"bomb|explosive(?:\s+device)?|molotov(?:\s+cocktail)?|nerve\s+agent|sarin|ricin|"
            r"bioweapon|chemical\s+weapon|ghost\s+gun|napalm)s?\b|\b(?:ich\s+(?:bringe|werde)\s+"
            r"dich\s+um(?:bringen)?|wie\s+baue\s+ich\s+eine\s+bombe)\b",
            _I,
        ),
    ),
    (
        "hate",
        (
            "vermin",
            "animal",
            "subhuman",
            "sub-human",
            "parasit",
            "cockroach",
            "rats",
            "disease",
            "plague",
            "inferior",
            "scum",
            "filth",
            "not human",
            "ungeziefer",
            "tiere",
            "minderwertig",
            "abschaum",
        ),
        re.compile(
            r"\b(?:all\s+|those\s+|these\s+|the\s+|die\s+|alle\s+)?"
            + _GROUP
            + r"\s+(?:are|is|sind)\s+"
            r"(?:all\s+)?(?:vermin|animals|subhuman|sub-human|parasites|cockroaches|rats|a\s+disease|"
            r"a\s+plague|inferior|scum|filth|not\s+human|Ungeziefer|Tiere|Parasiten|minderwertig|Abschaum)\b",
            _I,
        ),
    ),
    (
        "hate",
        (
            "should",
            "must",
            "need to",
            "deserve",
            "ought",
            "sollten",
            "müssen",
            "kill",
            "extermin",
            "gas",
            "eradicat",
            "wipe out",
        ),
        re.compile(
            r"\b"
            + _GROUP
            + r"\s+(?:should|must|need\s+to|deserve\s+to|ought\s+to|sollten|müssen)\s+"
            r"(?:all\s+)?(?:die|be\s+(?:killed|exterminated|gassed|wiped\s+out|eradicated|eliminated)|"
            r"sterben|vernichtet\s+werden|vergast\s+werden)\b|\b(?:kill|exterminate|gas|eradicate|"
            r"wipe\s+out)\s+(?:all\s+)?(?:the\s+)?" + _GROUP + r"\b",
            _I,
        ),
    ),
    (
        "sexual-minors",
        ("sex", "nude", "naked", "porn", "erotic", "explicit", "nackt"),
        re.compile(
            r"\b(?:child|children|kid|kids|minor|minors|underage|preteen|"
            r"\d{1,2}[- ]?(?:year[- ]?old|yo)|schoolgirl|schoolboy|Kind|Kinder|minderjährig\w*)\b"
            r"[^.\n]{0,40}\b(?:sex|sexual|sexy|nude|naked|"
            r"porn\w*|erotic|explicit|nackt|Sex)\b(?!\s+(?:education|ed\b|abuse\s+(?:prevention|awareness|"
            r"hotline|support)|offender\s+registry))",
            _I,
        ),
    ),
    (
        "sexual",
        (
            "porn",
            "blowjob",
            "handjob",
            "cumshot",
            "gangbang",
            "deepthroat",
            "anal sex",
            "masturbat",
            "dildo",
            "erotic roleplay",
            "sexting",
            "nudes",
            "fisting",
            "creampie",
            "hardcore sex",
            "explicit sex",
            "sex scene",
            "sexszene",
        ),
        re.compile(
            r"\b(?:porn\w*|blowjobs?|handjobs?|cumshots?|gangbang\w*|deepthroat\w*|anal\s+sex|"
            r"masturbat\w*|dildos?|erotic\s+roleplay|sexting|nudes|fisting|creampie|hardcore\s+sex|"
            r"explicit\s+sex(?:ual)?\s+(?:scene|story|content)|sex\s+scene|Pornos?|Sexszene)\b",
            _I,
        ),
    ),
)

# Trigger words tested together, then the prefilter (``bastion.guards.literals``).
_GATE: GatedPatterns[str] = GatedPatterns(_PATTERNS)


def prefilter() -> Prefilter:
    """The harmful-content patterns' multi-pattern prefilter (built once)."""
    return _GATE.prefilter()


class HarmfulContentGuard(Guard):
    """Offensive language, self-harm, violence, hate and sexual content, each with its own action.

    ``categories`` maps a category to ``block``, ``redact``, ``flag`` or
    ``allow`` (off); the verdict takes the most severe triggered action.
    Redaction replaces offensive words and matched passages with ``[removed:<category>]``.
    """

    kind = "harmful"
    actions = frozenset({Action.BLOCK, Action.REDACT, Action.FLAG})

    def __init__(
        self,
        *,
        categories: Mapping[str, Action | str] | None = None,
        profanity_threshold: float = 0.8,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        chosen = dict(DEFAULT_ACTIONS)
        for category, action in (categories or {}).items():
            if category not in DEFAULT_ACTIONS:
                raise ValueError(f"unknown harmful-content category {category!r}")
            chosen[category] = Action(action)
        self.categories = chosen
        if not 0.0 < profanity_threshold <= 1.0:
            raise ValueError("profanity_threshold must be in (0, 1]")
        self.profanity_threshold = profanity_threshold
        self._profanity = profanity_model() if chosen["profanity"] is not Action.ALLOW else None
        prefilter()  # compiled when the chain is built, not on the first request

    def scan(self, text: str, context: ScanContext) -> Verdict:
        spans: list[Span] = []
        triggered: dict[str, float] = {}
        scores: dict[str, float] = {}
        if self._profanity is not None:
            result = self._profanity.score(text)
            scores["profanity"] = result.probability
            if result.probability >= self.profanity_threshold:
                triggered["profanity"] = result.probability
                spans.extend(
                    Span(s, e, "HARMFUL:profanity", result.probability)
                    for s, e in result.offensive_spans
                )
        for category, pattern in _GATE.candidates(text):
            if self.categories[category] is Action.ALLOW:
                continue
            for match in pattern.finditer(text):
                triggered[category] = 1.0
                spans.append(Span(match.start(), match.end(), f"HARMFUL:{category}", 1.0))
        if not triggered:
            return self.allow(scores=scores)
        action = max((self.categories[c] for c in triggered), key=lambda a: a.severity)
        merged = merge_spans(spans)
        reasons = tuple(f"harmful:{c}" for c in triggered)
        scores.update({c: s for c, s in triggered.items()})
        redact_types = {f"HARMFUL:{c}" for c in triggered if self.categories[c] is Action.REDACT}
        to_redact = tuple(s for s in merged if s.entity_type in redact_types)
        text_out: str | None = None
        if action is Action.REDACT or (action is Action.FLAG and to_redact):
            text_out = replace_spans(text, to_redact, "[removed:{type}]").replace(
                "[removed:HARMFUL:", "[removed:"
            )
        return Verdict(
            self.name, action, reasons=reasons, scores=scores, spans=merged, text=text_out
        )

# ruff: noqa: E501  (pattern tables read better unwrapped)
"""Patterns for known prompt-injection and jailbreak families, in English and German.

Each pattern names its family (the reason code) and a weight: strong
patterns block on their own, weak ones only raise the score.  They run on
normalised text, and again on anything the decoders unwrap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bastion.guards.literals import GatedPatterns
from bastion.privacy.detect.prefilter import Prefilter


@dataclass(frozen=True, slots=True)
class Hit:
    """One matched family with its weight and character span in the scanned text."""

    family: str
    weight: float
    start: int
    end: int


_I = re.IGNORECASE

# Shared vocabulary ---------------------------------------------------------------
_EN_PREV = r"(?:all\s+|any\s+|the\s+|your\s+|my\s+|of\s+|these\s+|those\s+|every\s+)*(?:previous|prior|above|earlier|preceding|former|foregoing|initial|original|system|old|given|current|existing|developer|safety)?\s*"
_EN_RULES = r"(?:instructions?|prompts?|rules|directions|directives|guidelines|commands?|orders|context|constraints|restrictions|programming|guardrails|policies|tasks?|text|messages?)"
_DE_PREV = r"(?:alle[sn]?\s+|die\s+|deine[n]?\s+|ihre[n]?\s+|sämtliche[n]?\s+|meine[n]?\s+)*(?:vorherige[n]?|bisherige[n]?|obige[n]?|vorige[n]?|vorangegangene[n]?|früheren?|ursprüngliche[n]?|gegebene[n]?|alten?)?\s*"
_DE_RULES = r"(?:Anweisung(?:en)?|Instruktion(?:en)?|Befehle?|Aufträge|Auftrag|Aufgaben?|Regeln|Anordnungen|Vorgaben|Richtlinien|Informationen|Prompts?|Kontext)"

# (family, weight, triggers, pattern): the pattern runs only when one of the lowercase
# trigger substrings occurs, which keeps benign text (the common case) cheap.
_PATTERNS: tuple[tuple[str, float, tuple[str, ...], re.Pattern[str]], ...] = (
    # Instruction override -----------------------------------------------------------
    (
        "instruction-override",
        1.0,
        (
            "ignor",
            "disregard",
            "forget",
            "skip",
            "overrid",
            "overwrit",
            "bypass",
            "drop",
            "abandon",
            "neglect",
            "discard",
            "omit",
        ),
        re.compile(
            r"\b(?:ignore|disregard|forget|skip|override|overwrite|bypass|drop|abandon|neglect|discard|omit)\s+"
            + _EN_PREV
            + _EN_RULES
            + r"\b",
            _I,
        ),
    ),
    (
        "instruction-override",
        1.0,
        ("forget", "ignor", "disregard"),
        re.compile(
            r"\b(?:forget|ignore|disregard)\s+(?:about\s+)?(?:everything|anything|all(?:\s+that)?|what)\s*(?:(?:you\s+)?(?:were|have\s+been|was|I)?\s*(?:told|said|say|learned|instructed|above|before|so\s+far|previously|earlier|until\s+now)|\bbefore\b)",
            _I,
        ),
    ),
    (
        "instruction-override",
        1.0,
        ("ignor", "forget", "disregard"),
        re.compile(
            r"\b(?:ignore|forget|disregard)\s+(?:the\s+)?(?:above|everything\s+above|all\s+of\s+the\s+above|that|this)\b[\s,.:;!-]*(?:and|then|instead|now|just|\.|:)",
            _I,
        ),
    ),
    (
        "instruction-override",
        1.0,
        ("ignorier", "vergiss", "vergessen", "vergesst", "missacht", "überspring", "verwirf"),
        re.compile(
            r"\b(?:ignorier(?:e|en|t)?|vergiss|vergessen\s+Sie|vergesst|missachte(?:n)?|überspring(?:e)?|verwirf)\s+"
            + _DE_PREV
            + _DE_RULES,
            _I,
        ),
    ),
    (
        "instruction-override",
        1.0,
        ("vergiss", "vergessen", "vergesst", "ignorier"),
        re.compile(
            r"\b(?:vergiss|vergessen\s+Sie|vergesst|ignoriere|ignorieren\s+Sie)\s+(?:einfach\s+)?(?:alles|das\s+alles|alle[ns]?|das)\b(?:\s+(?:davor|zuvor|bisher|bisherige|vorherige|oben|vorher|was|Gesagte))?",
            _I,
        ),
    ),
    (
        "instruction-override",
        1.0,
        ("obigen", "vorherigen", "bisherigen", "vorangegangenen"),
        re.compile(
            r"\b(?:die\s+)?(?:obigen|vorherigen|bisherigen|vorangegangenen)\s+(?:Ausführungen|Anweisungen|Informationen|Aufgaben|Befehle)\s+(?:ignorieren|vergessen|missachten|sind\s+(?:nicht|falsch|ungültig))",
            _I,
        ),
    ),
    (
        "instruction-override",
        0.9,
        ("instruction", "task", "order", "directive", "rules", "anweisung", "aufgabe", "befehl"),
        re.compile(
            r"\b(?:your\s+)?(?:new|real|actual|updated|true)\s+(?:instructions?|task|orders|directive|rules)\s*(?:is\b|are\b|:)|\bneue\s+(?:Anweisung(?:en)?|Aufgabe|Befehle?)\s*(?::|lautet|ist|sind)",
            _I,
        ),
    ),
    (
        "instruction-override",
        0.6,
        (
            "from now on",
            "henceforth",
            "rest of this conversation",
            "ab jetzt",
            "ab sofort",
            "von nun an",
        ),
        re.compile(
            r"\b(?:from\s+now\s+on|henceforth|for\s+the\s+rest\s+of\s+this\s+conversation)\b[^.\n]{0,40}\b(?:you\s+(?:are|will|must|shall)|only|respond|answer|act)|\b(?:ab\s+(?:jetzt|sofort)|von\s+nun\s+an)\b[^.\n]{0,40}\b(?:bist\s+du|wirst\s+du|antworte|sollst\s+du|musst\s+du)",
            _I,
        ),
    ),
    (
        "instruction-override",
        0.9,
        ("answer", "respond", "follow", "beantworte", "befolge"),
        re.compile(
            r"\b(?:do\s+not|don'?t)\s+(?:answer|respond\s+to|follow)\s+(?:this|the|my|that|any)\b[^.\n]{0,40}\b(?:but|instead|just|only)\b|\b(?:beantworte|befolge)\s+(?:diese|die)\s+\w+\s+nicht\b",
            _I,
        ),
    ),
    # Role-play personas and jailbreak modes -------------------------------------------
    (
        "jailbreak-persona",
        1.0,
        (
            "dan",
            "stan",
            "dude",
            "aim",
            "kevin",
            "antigpt",
            "devmode",
            "anything now",
            "developer mode",
            "jail",
            "god",
            "unfiltered",
        ),
        re.compile(
            r"\b(?:DAN|STAN|DUDE|AIM|KEVIN|BetterDAN|AntiGPT|DevMode)\b(?=[^\n]{0,200}\b(?:mode|persona|stands\s+for|anything|jailbreak|character|no\s+restrictions|act|pretend|you\s+are|du\s+bist)\b)|(?i:\bdo\s+anything\s+now\b|\bdeveloper\s+mode\s+(?:enabled|activated|output|is\s+now\s+on)|\bjail\s*break(?:ed|ing)?\s*(?:mode|:|prompt\s*:)|\bgod\s*mode\b|\bunfiltered\s+mode\b)",
            0,
        ),
    ),
    (
        "jailbreak-persona",
        1.0,
        (
            "unfilter",
            "uncensor",
            "unrestrict",
            "unbound",
            "amoral",
            "immoral",
            "unethical",
            "evil",
            "rogue",
            "jailbr",
            "unlimited",
            "lawless",
            "zensurfrei",
            "unzensiert",
            "uneingeschränkt",
            "ohne",
        ),
        re.compile(
            r"\b(?:you\s+are|you're|act\s+as|pretend\s+(?:to\s+be|you\s+are)|roleplay\s+as|play\s+the\s+role\s+of|become|du\s+bist(?:\s+jetzt|\s+nun)?|spiele|tu\s+so,?\s+als\s+wärst\s+du|stell\s+dir\s+vor,?\s+du\s+bist)\s+(?:now\s+)?(?:an?\s+|eine?n?\s+)?(?:\w+\s+){0,3}?(?:unfiltered|uncensored|unrestricted|unbound|amoral|immoral|unethical|evil|rogue|jailbroken|unlimited|lawless|zensurfrei|unzensiert|uneingeschränkt|ohne\s+(?:Einschränkungen|Regeln|Filter|Zensur))\b",
            _I,
        ),
    ),
    (
        "jailbreak-persona",
        1.0,
        (
            "without",
            "with no",
            "free of",
            "free from",
            "no longer",
            "not bound",
            "break free",
            "ohne",
            "keine",
        ),
        re.compile(
            r"\b(?:without|with\s+no|free\s+(?:of|from)|no\s+longer\s+(?:bound|restricted|limited)\s+by|not\s+bound\s+by|break\s+free\s+of|ohne|keine)\s+(?:any\s+)?(?:ethical|moral|content|safety|OpenAI'?s?|Anthropic'?s?|ethische[n]?|moralische[n]?)?\s*(?:restrictions|filters|guidelines|limits|rules|policies|censorship|Einschränkungen|Regeln|Filter|Richtlinien|Zensur)\b[^.\n]{0,80}\b(?:answer|respond|reply|antworte|answer|tell|say|sag|you\s+can|kannst\s+du)",
            _I,
        ),
    ),
    (
        "jailbreak-persona",
        0.7,
        ("character", "opposite mode", "evil confidant", "two responses", "respond as both"),
        re.compile(
            r"\b(?:stay\s+in\s+character|never\s+break\s+character|opposite\s+mode|evil\s+confidant|two\s+responses|respond\s+as\s+both)\b",
            _I,
        ),
    ),
    # System prompt extraction ------------------------------------------------------
    (
        "system-prompt-extraction",
        1.0,
        ("prompt", "system message", "instructions", "pre-prompt", "preprompt"),
        re.compile(
            r"\b(?:reveal|show|print|repeat|output|display|tell\s+me|give\s+me|list|write\s+out|leak|dump|spell\s+out|recite|what\s+(?:is|are|was|were))\s+(?:me\s+)?(?:your|the|all\s+(?:of\s+)?your|exactly\s+your|the\s+full|your\s+full|your\s+entire|your\s+initial|the\s+hidden)\s+(?:\w+\s+)?(?:system\s+prompt|system\s+message|initial\s+prompt|hidden\s+prompt|prompt\s+text|original\s+prompt|secret\s+instructions|hidden\s+instructions|initial\s+instructions|pre-?prompt|instructions\s+(?:above|you\s+were\s+given))",
            _I,
        ),
    ),
    (
        "system-prompt-extraction",
        1.0,
        ("above", "before this", "before my", "written", "beginning with"),
        re.compile(
            r"\b(?:repeat|print|output|copy|return)\s+(?:(?:back|out)\s+)?(?:the\s+|all\s+(?:the\s+)?)?(?:words|text|everything|lines|content)\s+(?:above|before\s+(?:this|my))|\bwhat\s+(?:was|is)\s+written\s+(?:above|at\s+the\s+(?:top|beginning))|\bbeginning\s+with\s+[\"']you\s+are",
            _I,
        ),
    ),
    (
        "system-prompt-extraction",
        1.0,
        ("prompt", "anweisung", "instruktion", "systemnachricht", "vorgaben"),
        re.compile(
            r"\b(?:zeige?|zeigen\s+Sie|gib|geben\s+Sie|nenne|verrate|wiederhole|drucke|schreibe)\s+(?:mir\s+)?(?:\w+\s+){0,2}?(?:deinen|den|deine|die|Ihren|Ihre|ihren)\s+(?:gesamten\s+|ganzen\s+|vollständigen\s+|kompletten\s+|ursprünglichen\s+|geheimen\s+)?(?:System-?prompt|Prompt(?:-?Text)?|Anweisungen|Instruktionen|Systemnachricht|Vorgaben)",
            _I,
        ),
    ),
    # Delimiter and fake-role injection ----------------------------------------------
    (
        "fake-role",
        1.0,
        (
            "<|",
            "[inst",
            "[/inst",
            "<<sys",
            "<</sys",
            "</s>",
            "<s>",
            "<system",
            "</system",
            "<assistant",
            "</assistant",
            '"role"',
        ),
        re.compile(
            r"<\|(?:im_start|im_end|system|endoftext|eot_id|start_header_id|end_header_id|begin_of_text)\|>|\[/?INST\]|<</?SYS>>|</?s>\s*\[|</?(?:system|assistant)>|\"role\"\s*:\s*\"(?:system|developer)\"",
            _I,
        ),
    ),
    (
        "fake-role",
        0.9,
        ("system", "developer", "admin", "root"),
        re.compile(
            r"(?:^|\n)\s*(?:#{1,4}\s*)?(?:\[?\s*)?(?:system|developer|admin|administrator|root)\s*(?:message|prompt|override|note|instruction)?\s*\]?\s*:\s*\S",
            _I,
        ),
    ),
    (
        "delimiter-injection",
        0.9,
        ("---", "===", "###", "***", "___", "~~~", "```", "end of", "begin system", "begin admin"),
        re.compile(
            r"(?:^|\n)\s*(?:[-=#*_~]{3,}|`{3,})\s*(?:end\s+of\s+(?:input|prompt|context|user\s+input|document|text|instructions)|new\s+(?:instructions?|task|session|prompt)|system|begin\s+(?:admin|system|new))\b|\b(?:END\s+OF\s+(?:INPUT|PROMPT|CONTEXT|USER\s+INPUT)|BEGIN\s+(?:SYSTEM|ADMIN)\s+(?:PROMPT|INSTRUCTIONS?|OVERRIDE))\b",
            _I,
        ),
    ),
    (
        "delimiter-injection",
        0.8,
        ("admin", "developer", "sudo", "root"),
        re.compile(
            r"\b(?:admin(?:istrator)?|developer|sudo|root)\s+(?:mode|override|access)\s*(?:enabled|activated|granted|on)\b",
            _I,
        ),
    ),
    # Output hijacking typical of goal-hijack attacks -------------------------------------
    (
        "output-hijack",
        0.8,
        ("just", "only", "instead", "simply", "nur", "einfach", "stattdessen"),
        re.compile(
            r"\b(?:just|only|instead|simply)\s+(?:say|output|print|write|reply\s+with|respond\s+with|answer\s+with)\s*[:\"'«“]|\b(?:sag|schreib|gib)\s+(?:nur|einfach|stattdessen)\s+[\"'„«:]",
            _I,
        ),
    ),
)


# Each pattern's trigger words tested together, then the prefilter
# (``bastion.guards.literals``) instead of one pass over the text per pattern.
_GATE: GatedPatterns[tuple[str, float]] = GatedPatterns(
    ((family, weight), triggers, pattern) for family, weight, triggers, pattern in _PATTERNS
)


def prefilter() -> Prefilter:
    """The heuristics' multi-pattern prefilter (built once, ~1.5 s)."""
    return _GATE.prefilter()


def scan_heuristics(text: str) -> list[Hit]:
    """Every family that matches ``text``, strongest match per family first."""
    hits: list[Hit] = []
    for (family, weight), pattern in _GATE.candidates(text):
        match = pattern.search(text)
        if match:
            hits.append(Hit(family, weight, match.start(), match.end()))
    return hits

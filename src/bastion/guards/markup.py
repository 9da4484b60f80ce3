"""Markup and script neutralisation for text that may be rendered as HTML or Markdown.

Scripts, event handlers, ``javascript:`` URLs and remote Markdown images (a
known exfiltration channel for LLM output) are escaped or removed.
"""

from __future__ import annotations

import re

from bastion.guards.base import Action, Guard, ScanContext, Verdict

_SCRIPT_TAG = re.compile(
    r"<\s*/?\s*(?:script|iframe|frame|frameset|object|embed|applet|base|meta|link|style|form)\b",
    re.I,
)
_ACTIVE_TAG = re.compile(r"<\s*(?:img|svg|math|video|audio|body|input|details|a)\b[^>]*>", re.I)
_EVENT_HANDLER = re.compile(r"\bon[a-z]{3,24}\s*=", re.I)
_SCRIPT_URL = re.compile(r"\b(?:javascript|vbscript|livescript)\s*:|\bdata\s*:\s*text/html", re.I)
_REMOTE_IMAGE = re.compile(
    r"!\[([^\]\n]{0,200})\]\(\s*(?:https?:)?//[^)\s]{1,2000}[^)]{0,200}\)", re.I
)
_HTML_SPECIAL = str.maketrans({"<": "&lt;", ">": "&gt;"})


def neutralise(text: str) -> str:
    """Escape angle brackets, defang script URLs and drop remote images."""
    text = _REMOTE_IMAGE.sub(lambda m: f"[image removed: {m.group(1)}]", text)
    text = text.translate(_HTML_SPECIAL)
    return _SCRIPT_URL.sub(lambda m: m.group(0).replace(":", "&#58;"), text)


class MarkupGuard(Guard):
    """Detect active markup; ``redact`` (the default) neutralises it, ``block`` refuses it."""

    kind = "markup"
    actions = frozenset({Action.REDACT, Action.BLOCK, Action.FLAG})
    default_action = Action.REDACT

    def scan(self, text: str, context: ScanContext) -> Verdict:
        reasons: list[str] = []
        if "<" in text:
            if _SCRIPT_TAG.search(text):
                reasons.append("markup:script-tag")
            tag = _ACTIVE_TAG.search(text)
            if tag and _EVENT_HANDLER.search(tag.group(0)):
                reasons.append("markup:event-handler")
        if ":" in text and _SCRIPT_URL.search(text):
            reasons.append("markup:script-url")
        if "![" in text and _REMOTE_IMAGE.search(text):
            reasons.append("markup:remote-image")
        if not reasons:
            return self.allow()
        return self.found(reasons, redacted=neutralise(text))

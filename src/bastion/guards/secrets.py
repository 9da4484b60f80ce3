"""Credentials in traffic: provider API keys, private keys, JWTs and cloud credentials.

A prompt that carries a key leaks it to the model provider and its logs; a
response that carries one leaks it to the user.  Patterns are anchored on
provider prefixes and formats so ordinary prose does not trigger them.
"""

from __future__ import annotations

import re
from typing import Any

from bastion.guards.base import Action, Guard, ScanContext, Verdict, merge_spans, replace_spans
from bastion.guards.literals import GatedPatterns
from bastion.privacy.detect.prefilter import Prefilter
from bastion.privacy.detect.span import Span

# (kind, triggers, pattern): a pattern runs only when a lowercase trigger occurs.
_PATTERNS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "private-key",
        ("private key",),
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,8000}?"
            r"(?:-----END (?:[A-Z0-9]+ )?PRIVATE KEY(?: BLOCK)?-----|$)"
        ),
    ),
    (
        "aws-access-key-id",
        ("akia", "asia", "abia", "acca", "agpa", "aida", "aroa", "anpa", "anva", "aipa"),
        re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z2-7]{16}\b"),
    ),
    (
        "aws-secret-access-key",
        ("secret",),
        re.compile(
            r"(?i:aws_?secret_?(?:access_?)?key|secret_?access_?key)[\"']?\s*[:=]\s*[\"']?"
            r"[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
        ),
    ),
    ("gcp-api-key", ("aiza",), re.compile(r"\bAIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])")),
    (
        "gcp-service-account",
        ("service_account",),
        re.compile(r"\"type\"\s*:\s*\"service_account\""),
    ),
    ("gcp-oauth-token", ("ya29.",), re.compile(r"\bya29\.[0-9A-Za-z_\-]{20,}")),
    (
        "azure-storage-key",
        ("accountkey", "sharedaccesskey"),
        re.compile(r"(?i:AccountKey|SharedAccessKey)\s*=\s*[A-Za-z0-9+/]{40,}={0,2}"),
    ),
    ("azure-sas-token", ("sig=",), re.compile(r"[?&]sig=[A-Za-z0-9%+/]{30,}={0,2}(?:&|\b)")),
    (
        "azure-client-secret",
        ("secret",),
        re.compile(
            r"(?i:client_?secret|AZURE_CLIENT_SECRET)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9~._\-]{34,40}"
        ),
    ),
    (
        "anthropic-api-key",
        ("sk-ant-",),
        re.compile(r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,}"),
    ),
    (
        "openai-api-key",
        ("sk-",),
        re.compile(
            r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,}|\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}|\bsk-[A-Za-z0-9]{48}\b"
        ),
    ),
    (
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b"),
    ),
    ("gitlab-token", ("glpat-",), re.compile(r"\bglpat-[A-Za-z0-9_\-]{20}\b")),
    ("slack-token", ("xox",), re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    (
        "stripe-key",
        ("_live_", "_test_"),
        re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,}\b"),
    ),
    ("huggingface-token", ("hf_",), re.compile(r"\bhf_[A-Za-z]{34}\b")),
    ("google-oauth-secret", ("gocspx-",), re.compile(r"\bGOCSPX-[A-Za-z0-9_\-]{28}\b")),
    ("sendgrid-key", ("sg.",), re.compile(r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b")),
    (
        "jwt",
        ("eyj",),
        re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ),
    (
        "password-assignment",
        ("password", "passwd", "pwd", "passwort", "secret", "api", "token"),
        re.compile(
            r"(?i:\b(?:password|passwd|pwd|passwort|secret|api[_-]?key|access[_-]?token)\b)"
            r"[\"']?\s*[:=]\s*[\"']?(?=[^\s\"']{8,})(?=[^\s\"']*\d)(?=[^\s\"']*[A-Za-z])[^\s\"']{8,128}"
        ),
    ),
    (
        "connection-string-password",
        ("://",),
        re.compile(r"\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@]{1,64}:[^\s@/]{3,128}@[\w.\-]+"),
    ),
)


# Trigger words tested together, then the prefilter (``bastion.guards.literals``).
_GATE: GatedPatterns[str] = GatedPatterns(_PATTERNS)


def prefilter() -> Prefilter:
    """The secrets patterns' multi-pattern prefilter (built once)."""
    return _GATE.prefilter()


def find_secrets(text: str) -> tuple[Span, ...]:
    """Non-overlapping spans of every credential found, typed ``SECRET:<kind>``."""
    spans: list[Span] = []
    candidates = _GATE.candidates(text)
    if not candidates:
        return ()
    for kind, pattern in candidates:
        for match in pattern.finditer(text):
            if match.end() > match.start():
                spans.append(Span(match.start(), match.end(), f"SECRET:{kind}", 0.95, "secrets"))
    return merge_spans(spans)


class SecretsGuard(Guard):
    """Find credentials; ``redact`` (default) replaces them with ``[SECRET:<kind>]``."""

    kind = "secrets"
    actions = frozenset({Action.REDACT, Action.BLOCK, Action.FLAG})
    default_action = Action.REDACT

    def __init__(self, **common: Any) -> None:
        super().__init__(**common)
        prefilter()  # compiled when the chain is built, not on the first request

    def scan(self, text: str, context: ScanContext) -> Verdict:
        spans = find_secrets(text)
        if not spans:
            return self.allow()
        reasons = [f"secret:{s.entity_type.split(':', 1)[1]}" for s in spans]
        return self.found(reasons, spans=spans, redacted=replace_spans(text, spans))

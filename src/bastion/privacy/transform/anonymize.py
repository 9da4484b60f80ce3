"""Apply a policy to a text and its detected spans; reverse the encrypted parts.

Spans must not overlap (the detection engine resolves overlaps); every character of
every span is replaced exactly once, and the result lists each replacement with its
offsets in the *output* text.  Original values appear in the result only inside
``encrypt`` tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from bastion.core.errors import ConfigError, ValidationError
from bastion.privacy.detect.span import Span
from bastion.privacy.transform.context import DocumentContext
from bastion.privacy.transform.keys import TransformKeys
from bastion.privacy.transform.operators import ENCRYPTED_TOKEN, decrypt_token
from bastion.privacy.transform.policy import OperatorPolicy


@dataclass(frozen=True, slots=True)
class Replacement:
    """One replaced value: ``[start, end)`` in the output, and where it came from in the input."""

    start: int
    end: int
    entity_type: str
    operator: str
    source_start: int
    source_end: int


@dataclass(frozen=True, slots=True)
class AnonymizedText:
    """The de-identified text and its replacements in output order."""

    text: str
    items: tuple[Replacement, ...]


def check_spans(text: str, spans: Sequence[Span]) -> list[Span]:
    """Spans sorted by start; refuse any that overlap or fall outside ``text``."""
    ordered = sorted(spans, key=lambda span: (span.start, span.end))
    previous: Span | None = None
    for span in ordered:
        if span.end > len(text):
            raise ValidationError(
                f"span [{span.start}, {span.end}) of {span.entity_type} is outside the text "
                f"(length {len(text)})",
                field="spans",
            )
        if previous is not None and previous.overlaps(span):
            raise ValidationError(
                f"spans overlap: [{previous.start}, {previous.end}) {previous.entity_type} and "
                f"[{span.start}, {span.end}) {span.entity_type}; resolve overlaps first",
                field="spans",
            )
        previous = span
    return ordered


def anonymize(
    text: str,
    spans: Sequence[Span],
    policy: OperatorPolicy | None = None,
    *,
    key: bytes | None = None,
    encryption_key: bytes | None = None,
    person_id: str | None = None,
    context: DocumentContext | None = None,
) -> AnonymizedText:
    """Replace every span of ``text`` with the operator ``policy`` assigns to its type.

    ``key`` (32+ bytes) is needed by the keyed operators (pseudonymize, surrogate,
    encrypt, date_shift); ``person_id`` makes date shifts per person.  Pass a shared
    ``context`` instead to keep numbering and surrogates consistent across texts.
    """
    policy = policy if policy is not None else OperatorPolicy()
    if context is None:
        context = DocumentContext(key, encryption_key=encryption_key, person_id=person_id)
    elif key is not None or encryption_key is not None or person_id is not None:
        raise ConfigError("pass either a context or key/encryption_key/person_id, not both")
    ordered = check_spans(text, spans)
    if context.person_id is None and context.document_seed is None:
        context.document_seed = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    pieces: list[str] = []
    items: list[Replacement] = []
    cursor = 0
    out_length = 0
    for span in ordered:
        kept = text[cursor : span.start]
        pieces.append(kept)
        out_length += len(kept)
        config = policy.for_entity(span.entity_type)
        replacement = config.apply(text[span.start : span.end], span.entity_type, context)
        pieces.append(replacement)
        items.append(
            Replacement(
                start=out_length,
                end=out_length + len(replacement),
                entity_type=span.entity_type,
                operator=config.operator,
                source_start=span.start,
                source_end=span.end,
            )
        )
        out_length += len(replacement)
        cursor = span.end
    pieces.append(text[cursor:])
    return AnonymizedText(text="".join(pieces), items=tuple(items))


def deanonymize(
    anonymized: AnonymizedText | str,
    key: bytes,
    *,
    encryption_key: bytes | None = None,
) -> str:
    """Restore every ``encrypt``-ed value; raises ``IntegrityError`` for a wrong key.

    Accepts an :class:`AnonymizedText` (uses its replacement offsets) or plain text
    (finds ``<ENC:TYPE:...>`` tokens, e.g. in a de-identified CSV cell).
    """
    aes_key = TransformKeys(key, encryption_key=encryption_key).encrypt
    if isinstance(anonymized, str):
        return ENCRYPTED_TOKEN.sub(
            lambda match: decrypt_token(aes_key, match.group(1), match.group(2)), anonymized
        )
    text = anonymized.text
    pieces: list[str] = []
    cursor = 0
    for item in anonymized.items:
        if item.operator != "encrypt":
            continue
        match = ENCRYPTED_TOKEN.fullmatch(text, item.start, item.end)
        if match is None:
            raise ValidationError(
                f"replacement at [{item.start}, {item.end}) is not an encrypted token",
                field="items",
            )
        pieces.append(text[cursor : item.start])
        pieces.append(decrypt_token(aes_key, match.group(1), match.group(2)))
        cursor = item.end
    pieces.append(text[cursor:])
    return "".join(pieces)

"""The detection contract operators rely on, and text de-identification in one call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from bastion.core.errors import ConfigError
from bastion.privacy.detect.span import Span
from bastion.privacy.transform.anonymize import AnonymizedText, anonymize
from bastion.privacy.transform.context import DocumentContext
from bastion.privacy.transform.policy import OperatorPolicy


@runtime_checkable
class Analyzer(Protocol):
    """Anything with ``analyze(text, entities) -> sorted, non-overlapping spans``."""

    def analyze(self, text: str, entities: Sequence[str] | None = None) -> list[Span]: ...


_DEFAULT: list[Analyzer] = []


def default_analyzer() -> Analyzer:
    """The process-wide default detection engine, built once on first use."""
    if not _DEFAULT:
        try:
            from bastion.privacy.detect import default_engine
        except ImportError as exc:
            raise ConfigError(
                "the detection engine (bastion.privacy.detect) is not available"
            ) from exc
        _DEFAULT.append(default_engine())
    return _DEFAULT[0]


def deidentify_text(
    text: str,
    policy: OperatorPolicy | None = None,
    *,
    engine: Analyzer | None = None,
    key: bytes | None = None,
    person_id: str | None = None,
    context: DocumentContext | None = None,
) -> AnonymizedText:
    """Detect with ``engine`` (default: the bundled one) and anonymize with ``policy``."""
    analyzer = engine if engine is not None else default_analyzer()
    spans = analyzer.analyze(text)
    if context is not None:
        return anonymize(text, spans, policy, context=context)
    return anonymize(text, spans, policy, key=key, person_id=person_id)

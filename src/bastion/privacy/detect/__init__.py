"""PII/PHI detection: an offline registry of recognizers behind one ``Engine``.

``default_engine().analyze(text)`` returns sorted, non-overlapping ``Span`` objects.
"""

from __future__ import annotations

from bastion.privacy.detect.custom import load_custom_recognizers
from bastion.privacy.detect.engine import (
    Engine,
    EngineConfig,
    build_engine,
    builtin_recognizers,
    default_engine,
    resolve,
)
from bastion.privacy.detect.entities import BUILTIN_ENTITIES, SAFE_HARBOR
from bastion.privacy.detect.recognizer import Document, Pattern, PatternRecognizer, Recognizer
from bastion.privacy.detect.span import Span
from bastion.privacy.detect.validators import VALIDATORS

__all__ = [
    "BUILTIN_ENTITIES",
    "SAFE_HARBOR",
    "VALIDATORS",
    "Document",
    "Engine",
    "EngineConfig",
    "Pattern",
    "PatternRecognizer",
    "Recognizer",
    "Span",
    "build_engine",
    "builtin_recognizers",
    "default_engine",
    "load_custom_recognizers",
    "resolve",
]

"""Privacy: detect PII/PHI (``bastion.privacy.detect``), transform it, evaluate detectors."""

from __future__ import annotations

from bastion.privacy.detect import Engine, EngineConfig, Span, default_engine

__all__ = ["Engine", "EngineConfig", "Span", "default_engine"]

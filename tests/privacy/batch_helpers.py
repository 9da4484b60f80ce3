"""Engines for batch tests, importable by worker processes as ``module:factory``."""

from __future__ import annotations

from collections.abc import Sequence

from bastion.privacy.detect.span import Span
from tests.privacy.transform.helpers import FakeEngine


class ExplodingEngine(FakeEngine):
    """Fails on a marker, to simulate a job dying midway."""

    def analyze(self, text: str, entities: Sequence[str] | None = None) -> list[Span]:
        if "EXPLODE" in text:
            raise RuntimeError("worker failure")
        return super().analyze(text, None if entities is None else list(entities))


def exploding_engine() -> ExplodingEngine:
    return ExplodingEngine()

"""Shared guard fixtures: the default chain is built once per session (model loading is slow)."""

from __future__ import annotations

import pytest

from bastion.guards import GuardChain, load_chain
from bastion.privacy.detect.span import Span


@pytest.fixture(scope="session")
def default_chain() -> GuardChain:
    return load_chain()


class FakeEngine:
    """Stands in for the privacy engine: finds the literal e-mail ``bob@example.com``."""

    def analyze(self, text: str) -> list[Span]:
        needle = "bob@example.com"
        start = text.find(needle)
        return [] if start < 0 else [Span(start, start + len(needle), "EMAIL_ADDRESS", 0.9)]


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()

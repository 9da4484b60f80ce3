"""Helpers for access tests: a recording audit sink and a policy writer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from bastion.access import configure


@dataclass
class RecordingSink:
    """An AuditSink that keeps every event in memory (optionally failing on demand)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    fail_with: Exception | None = None

    def append(
        self,
        *,
        principal: str,
        action: str,
        resource: str,
        outcome: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.events.append(
            {
                "principal": principal,
                "action": action,
                "resource": resource,
                "outcome": outcome,
                "details": dict(details or {}),
            }
        )


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def write_policy(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def _reset_gate() -> Any:
    """No test leaks a process-wide authorizer into the next."""
    configure(None)
    yield
    configure(None)

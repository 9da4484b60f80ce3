"""The gateway's guard chain: ordered input guards before the model, output guards after.

The gateway depends only on :class:`GuardChainLike`; ``bastion.guards``
provides the real chain (built from a guard policy file).  Without a policy
the chain is :class:`NoGuards`, which passes text through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bastion.core.settings import Settings


class ChainVerdictLike(Protocol):
    """What the gateway reads from a chain verdict."""

    @property
    def blocked(self) -> bool: ...

    @property
    def text(self) -> str: ...

    @property
    def reasons(self) -> tuple[str, ...]: ...

    def to_dict(self) -> dict[str, Any]: ...


class GuardChainLike(Protocol):
    """Anything with ``scan_input`` / ``scan_output`` (``bastion.guards.GuardChain``)."""

    def scan_input(self, text: str, context: Any = None) -> ChainVerdictLike: ...

    def scan_output(self, text: str, context: Any = None) -> ChainVerdictLike: ...


@dataclass(frozen=True, slots=True)
class PassVerdict:
    """The verdict of an empty chain: allowed, unchanged."""

    direction: str
    text: str
    reasons: tuple[str, ...] = ()
    guards: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    @property
    def blocked(self) -> bool:
        return False

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "decision": "allow",
            "reasons": [],
            "text": self.text,
            "modified": False,
            "guards": [],
        }


class NoGuards:
    """The default chain: no guards configured, every text passes unchanged."""

    empty = True

    def scan_input(self, text: str, context: Any = None) -> PassVerdict:
        return PassVerdict("input", text)

    def scan_output(self, text: str, context: Any = None) -> PassVerdict:
        return PassVerdict("output", text)


def guard_chain_from_settings(settings: Settings) -> GuardChainLike:
    """The chain named by ``serving.guard_policy`` (``default`` for the built-in policy)."""
    policy = settings.serving.guard_policy
    if policy is None:
        return NoGuards()
    from bastion.serving._guards_bridge import load_chain

    chain: GuardChainLike = load_chain(policy)
    return chain

"""Ordered guard chains: one for input, one for output, built from policy.

The chain runs guards in order, feeding each the text the previous one
produced (normalised, neutralised, redacted).  A guard that raises fails
closed by default (``guard-error:<name>``); nothing is skipped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bastion.guards.base import Action, Direction, Guard, ScanContext, Verdict

log = logging.getLogger(__name__)

INVALID_UTF8 = "encoding:invalid-utf8"


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    """The combined decision of a chain on one text.

    ``text`` is what may be passed on (normalised/redacted); it is empty when
    the decision is ``block`` so a blocked text cannot be forwarded by mistake.
    ``reasons`` are the reason codes of every guard that triggered, in order.
    """

    direction: Direction
    action: Action
    text: str
    reasons: tuple[str, ...]
    verdicts: tuple[Verdict, ...]

    @property
    def blocked(self) -> bool:
        """True when the text must not be passed on."""
        return self.action is Action.BLOCK

    @property
    def allowed(self) -> bool:
        """True when the (possibly rewritten) text may be passed on."""
        return self.action is not Action.BLOCK

    @property
    def modified(self) -> bool:
        """True when a guard rewrote the text."""
        return any(v.text is not None for v in self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON shape for the CLI and the gateway."""
        return {
            "direction": self.direction,
            "decision": self.action.value,
            "reasons": list(self.reasons),
            "text": self.text,
            "modified": self.modified,
            "guards": [v.to_dict() for v in self.verdicts],
        }


class GuardChain:
    """Input and output guards in policy order."""

    def __init__(
        self,
        input_guards: Sequence[Guard] = (),
        output_guards: Sequence[Guard] = (),
        *,
        stop_on_block: bool = True,
    ) -> None:
        self.input_guards = tuple(input_guards)
        self.output_guards = tuple(output_guards)
        self.stop_on_block = stop_on_block
        for guards in (self.input_guards, self.output_guards):
            names = [g.name for g in guards]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"duplicate guard names in one chain: {', '.join(duplicates)}")

    def scan_input(self, text: str, context: ScanContext | None = None) -> ChainVerdict:
        """Run the input guards on a prompt or request field."""
        ctx = context or ScanContext(direction="input")
        return self._run(self.input_guards, text, ctx, "input")

    def scan_output(self, text: str, context: ScanContext | None = None) -> ChainVerdict:
        """Run the output guards on a model response."""
        ctx = context or ScanContext(direction="output")
        return self._run(self.output_guards, text, ctx, "output")

    def scan_input_bytes(self, data: bytes, context: ScanContext | None = None) -> ChainVerdict:
        """Decode strictly as UTF-8 (refusing invalid bytes) and scan as input."""
        return self._scan_bytes(data, context, "input")

    def scan_output_bytes(self, data: bytes, context: ScanContext | None = None) -> ChainVerdict:
        """Decode strictly as UTF-8 (refusing invalid bytes) and scan as output."""
        return self._scan_bytes(data, context, "output")

    def scan(
        self, text: str, direction: Direction, context: ScanContext | None = None
    ) -> ChainVerdict:
        """Dispatch on ``direction``."""
        if direction == "input":
            return self.scan_input(text, context)
        return self.scan_output(text, context)

    # -----------------------------------------------------------------------
    def _scan_bytes(
        self, data: bytes, context: ScanContext | None, direction: Direction
    ) -> ChainVerdict:
        try:
            text = data.decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            verdict = Verdict(
                "utf8",
                Action.BLOCK,
                reasons=(INVALID_UTF8,),
                scores={"byte_offset": float(exc.start)},
            )
            return ChainVerdict(direction, Action.BLOCK, "", (INVALID_UTF8,), (verdict,))
        return self.scan(text, direction, context)

    def _run(
        self, guards: tuple[Guard, ...], text: str, context: ScanContext, direction: Direction
    ) -> ChainVerdict:
        verdicts: list[Verdict] = []
        reasons: list[str] = []
        action = Action.ALLOW
        current = text
        for guard in guards:
            try:
                verdict = guard.scan(current, context)
            except Exception as exc:  # a broken guard must never let traffic through silently
                log.warning("guard %s failed: %s", guard.name, type(exc).__name__)
                verdict = Verdict(
                    guard.name, guard.on_error, reasons=(f"guard-error:{guard.name}",)
                )
            verdicts.append(verdict)
            reasons.extend(verdict.reasons)
            if verdict.action.severity > action.severity:
                action = verdict.action
            if verdict.action is Action.BLOCK:
                if self.stop_on_block:
                    break
                continue
            if verdict.text is not None:
                current = verdict.text
        final = "" if action is Action.BLOCK else current
        return ChainVerdict(
            direction, action, final, tuple(dict.fromkeys(reasons)), tuple(verdicts)
        )

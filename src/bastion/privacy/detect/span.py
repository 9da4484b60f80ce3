"""The unit every detector returns and every operator consumes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A detected value: half-open character offsets ``[start, end)`` into the scanned text.

    The text itself is not stored, so spans can be logged or audited without
    leaking the value they point at.
    """

    start: int
    end: int
    entity_type: str
    score: float
    recognizer: str = ""
    explanation: str = ""

    def __post_init__(self) -> None:
        if self.start < 0 or self.end <= self.start:
            raise ValueError(f"invalid span offsets [{self.start}, {self.end})")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"span score {self.score} outside [0, 1]")

    @property
    def length(self) -> int:
        """Number of characters covered."""
        return self.end - self.start

    def overlaps(self, other: Span) -> bool:
        """True when the two spans share at least one character."""
        return self.start < other.end and other.start < self.end

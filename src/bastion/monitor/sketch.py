"""Mergeable summaries: a KLL quantile sketch and moment accumulators.

The reference profile needs bin edges at the reference's quantiles without
holding the reference in memory; a KLL sketch (Karnin, Lang, Liberty 2016)
gives those in O(k log n) space and two sketches merge by concatenating
levels and compacting.  Compaction here is deterministic given the seed, so a
profile computed twice from the same data is the same JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass
class KllSketch:
    """Approximate quantiles of a stream of floats (rank error about 1.7 / k)."""

    k: int = 256
    levels: list[FloatArray] = field(default_factory=list)
    count: int = 0
    _flip: int = 0

    def _capacity(self, level: int) -> int:
        depth = len(self.levels) - level - 1
        return max(8, int(self.k * (2 / 3) ** depth))

    def update(self, values: FloatArray) -> None:
        """Add a batch of finite values."""
        if values.size == 0:
            return
        if not self.levels:
            self.levels.append(np.empty(0))
        self.levels[0] = np.concatenate([self.levels[0], values.astype(np.float64, copy=False)])
        self.count += int(values.size)
        self._compress()

    def _compress(self) -> None:
        level = 0
        while level < len(self.levels):
            items = self.levels[level]
            if items.size > self._capacity(level):
                if level + 1 == len(self.levels):
                    self.levels.append(np.empty(0))
                items = np.sort(items)
                keep_odd = items.size % 2
                carry, items = (items[-1:], items[:-1]) if keep_odd else (np.empty(0), items)
                self._flip ^= 1
                promoted = items[self._flip :: 2]
                self.levels[level] = carry
                self.levels[level + 1] = np.concatenate([self.levels[level + 1], promoted])
            level += 1

    def merge(self, other: KllSketch) -> None:
        """Fold ``other`` into this sketch."""
        while len(self.levels) < len(other.levels):
            self.levels.append(np.empty(0))
        for index, items in enumerate(other.levels):
            self.levels[index] = np.concatenate([self.levels[index], items])
        self.count += other.count
        self._compress()

    def weighted(self) -> tuple[FloatArray, FloatArray]:
        """Sorted items and their weights (each level doubles the weight)."""
        if not self.levels:
            return np.empty(0), np.empty(0)
        items = np.concatenate(self.levels)
        weights = np.concatenate(
            [np.full(level.size, float(2**index)) for index, level in enumerate(self.levels)]
        )
        order = np.argsort(items, kind="stable")
        return items[order], weights[order]

    def quantiles(self, probabilities: FloatArray) -> FloatArray:
        """Values at the given probabilities (empty sketch → empty result)."""
        items, weights = self.weighted()
        if items.size == 0:
            return np.empty(0)
        cumulative = np.cumsum(weights) / weights.sum()
        index = np.searchsorted(cumulative, probabilities, side="left")
        return items[np.clip(index, 0, items.size - 1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "count": self.count,
            "levels": [level.tolist() for level in self.levels],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KllSketch:
        return cls(
            k=int(data["k"]),
            levels=[np.asarray(level, dtype=np.float64) for level in data["levels"]],
            count=int(data["count"]),
        )


@dataclass
class Moments:
    """Count, mean, variance (Chan et al. parallel update), min and max; mergeable."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def update(self, values: FloatArray) -> None:
        if values.size == 0:
            return
        other = Moments(
            int(values.size),
            float(values.mean()),
            float(((values - values.mean()) ** 2).sum()),
            float(values.min()),
            float(values.max()),
        )
        self.merge(other)

    def merge(self, other: Moments) -> None:
        if other.count == 0:
            return
        total = self.count + other.count
        delta = other.mean - self.mean
        self.m2 += other.m2 + delta * delta * self.count * other.count / total
        self.mean += delta * other.count / total
        self.count = total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / self.count)) if self.count > 1 else 0.0

    def to_dict(self) -> dict[str, Any]:
        empty = self.count == 0
        return {
            "count": self.count,
            "mean": self.mean,
            "m2": self.m2,
            "min": None if empty else self.minimum,
            "max": None if empty else self.maximum,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Moments:
        return cls(
            int(data["count"]),
            float(data["mean"]),
            float(data["m2"]),
            float("inf") if data["min"] is None else float(data["min"]),
            float("-inf") if data["max"] is None else float(data["max"]),
        )

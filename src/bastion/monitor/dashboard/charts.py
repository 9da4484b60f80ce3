"""Small matplotlib charts rendered to PNG data URIs (no browser-side code, works offline)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563"]
OK, BAD, MUTED = "#16a34a", "#dc2626", "#9ca3af"


def _figure(width: float = 7.0, height: float = 2.8) -> tuple[Any, Any]:
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.25)
    return fig, ax


def _encode(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _empty(message: str) -> str:
    fig, ax = _figure(height=1.4)
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#6b7280", fontsize=11)
    return _encode(fig)


def time_series(
    times: Sequence[datetime],
    series: Mapping[str, Sequence[float]],
    title: str,
    *,
    stacked: bool = False,
) -> str:
    """Lines (or stacked areas) over time buckets."""
    if not times or not any(any(v) for v in series.values()):
        return _empty(f"{title}: no data in this period")
    fig, ax = _figure()
    if stacked:
        ax.stackplot(
            times,
            *[list(v) for v in series.values()],
            labels=list(series),
            colors=PALETTE[: len(series)],
            alpha=0.85,
        )
    else:
        for index, (name, values) in enumerate(series.items()):
            ax.plot(times, list(values), label=name, color=PALETTE[index % len(PALETTE)], lw=2)
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.autofmt_xdate()
    return _encode(fig)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    *,
    colors: Sequence[str] | None = None,
    reference: float | None = None,
    errors: Sequence[tuple[float, float]] | None = None,
    xlabel: str = "",
) -> str:
    """Horizontal bars, optionally with a reference line and asymmetric error bars."""
    if not labels:
        return _empty(f"{title}: nothing to show")
    height = max(1.6, 0.38 * len(labels) + 0.9)
    fig, ax = _figure(height=height)
    ax.grid(axis="x", alpha=0.25)
    ax.grid(axis="y", visible=False)
    positions = list(range(len(labels)))
    xerr = None
    if errors is not None:
        xerr = [
            [max(0.0, v - lo) for v, (lo, _) in zip(values, errors, strict=True)],
            [max(0.0, hi - v) for v, (_, hi) in zip(values, errors, strict=True)],
        ]
    ax.barh(
        positions,
        list(values),
        color=list(colors) if colors else PALETTE[0],
        xerr=xerr,
        capsize=3 if xerr else 0,
    )
    ax.set_yticks(positions, labels=list(labels), fontsize=9)
    ax.invert_yaxis()
    if reference is not None:
        ax.axvline(reference, color="#111827", lw=1, ls="--")
    ax.set_title(title, loc="left", fontsize=11)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=9)
    return _encode(fig)


def histogram_pair(
    labels: Sequence[str], reference: Sequence[float], current: Sequence[float], title: str
) -> str:
    """Reference vs current shares per bin (drift plot for one feature)."""
    if not labels:
        return _empty(f"{title}: nothing to show")
    fig, ax = _figure(width=7.0, height=2.6)
    positions = list(range(len(labels)))
    width = 0.42
    ax.bar(
        [p - width / 2 for p in positions], list(reference), width, label="reference", color=MUTED
    )
    ax.bar(
        [p + width / 2 for p in positions], list(current), width, label="current", color=PALETTE[0]
    )
    step = max(1, len(labels) // 12)
    ax.set_xticks(positions[::step], labels=list(labels)[::step], fontsize=7, rotation=30)
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_ylabel("share", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    return _encode(fig)

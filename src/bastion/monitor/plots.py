"""Drift plots: one PNG per feature (reference vs current shares) and an overview."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np

from bastion.monitor.drift import DriftReport, FeatureDrift
from bastion.monitor.profile import Profile, Window

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def drift_ratio(feature: FeatureDrift, cap: float = 5.0) -> float:
    """How far past its threshold a feature is: 1.0 is the line, above means drift."""
    if feature.statistic is None or feature.threshold is None:
        return 0.0
    if feature.decided_by == "p_value" and feature.p_value is not None:
        return min(cap, feature.threshold / feature.p_value) if feature.p_value > 0 else cap
    if feature.threshold <= 0:
        return cap if feature.statistic > 0 else 0.0
    return min(cap, feature.statistic / feature.threshold)


def feature_bins(
    profile: Profile, window: Window, feature: str, top: int = 25
) -> tuple[list[str], list[float], list[float]]:
    """Bin labels and reference/current shares of one feature (top categories only)."""
    ref = profile.features[feature]
    cur = window.features[feature]
    if ref.kind == "numeric":
        edges = ref.edges
        labels = [f"<{edges[0]:.3g}"] + [f"≥{e:.3g}" for e in edges] if edges else ["all"]
        r = np.asarray(ref.counts, dtype=float)
        c = cur.counts
    else:
        keys = sorted(
            set(ref.categories) | set(cur.categories), key=lambda k: -ref.categories.get(k, 0)
        )
        keys = keys[:top]
        labels = keys
        r = np.asarray([ref.categories.get(k, 0) for k in keys], dtype=float)
        c = np.asarray([cur.categories.get(k, 0) for k in keys], dtype=float)
    r_share = (r / r.sum()).tolist() if r.sum() else [0.0] * len(labels)
    c_share = (c / c.sum()).tolist() if c.sum() else [0.0] * len(labels)
    return labels, r_share, c_share


def write_plots(
    report: DriftReport, profile: Profile, window: Window, directory: Path
) -> list[Path]:
    """Write ``overview.png`` and ``<feature>.png`` files; returns the paths written."""
    from bastion.monitor.dashboard.charts import BAD, OK, bars, histogram_pair

    directory.mkdir(parents=True, exist_ok=True)
    written = []

    def save(name: str, uri: str) -> None:
        path = directory / name
        path.write_bytes(base64.b64decode(uri.split(",", 1)[1]))
        written.append(path)

    tested = [f for f in report.features if f.statistic is not None]
    save(
        "overview.png",
        bars(
            [f.feature for f in tested],
            [drift_ratio(f) for f in tested],
            "drift per feature (1.0 = threshold)",
            colors=[BAD if f.drifted else OK for f in tested],
            reference=1.0,
        ),
    )
    for feature in report.features:
        labels, r, c = feature_bins(profile, window, feature.feature)
        verdict = (
            "DRIFT" if feature.drifted else ("ok" if feature.drifted is False else feature.status)
        )
        save(
            f"{_SAFE.sub('_', feature.feature)}.png",
            histogram_pair(labels, r, c, f"{feature.feature} — {feature.method or '-'}: {verdict}"),
        )
    return written

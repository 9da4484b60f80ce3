"""Build the monitor's parts from settings (used by the CLI and the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bastion.core.errors import ValidationError
from bastion.core.settings import Settings
from bastion.monitor.drift import DriftReport, drift
from bastion.monitor.fairness import FairnessReport, fairness_report, join_labels
from bastion.monitor.playbook import Playbook
from bastion.monitor.profile import Profile, Window
from bastion.monitor.rules import load_rules
from bastion.monitor.runner import LogSink, Monitor, Sink, WebhookSink
from bastion.monitor.store import MonitorStore, store_from_settings


def read_table(path: Path) -> pd.DataFrame:
    """A whole CSV / JSON-lines / Parquet file (for prediction and label logs)."""
    from bastion.monitor.io import iter_chunks

    frames = list(iter_chunks(path))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


@dataclass
class DriftView:
    report: DriftReport
    profile: Profile
    window: Window


def drift_from_settings(settings: Settings) -> DriftView | None:
    """Drift of ``monitor.current_data`` against ``monitor.reference_profile``, if configured."""
    cfg = settings.monitor
    if cfg.reference_profile is None or cfg.current_data is None:
        return None
    report, profile, window = drift(Profile.load(cfg.reference_profile), cfg.current_data)
    return DriftView(report, profile, window)


def fairness_from_settings(settings: Settings) -> FairnessReport | None:
    """Fairness of ``monitor.predictions_log`` (+ labels) by ``protected_attribute``."""
    cfg = settings.monitor
    if cfg.predictions_log is None or cfg.protected_attribute is None:
        return None
    predictions = read_table(cfg.predictions_log)
    labels = read_table(cfg.labels_log) if cfg.labels_log is not None else None
    joined = join_labels(predictions, labels)
    score = "score" if "score" in predictions.columns else None
    return fairness_report(
        joined.frame,
        attribute=cfg.protected_attribute,
        score_column=score,
        bootstrap=200,
        notes=joined.notes,
    )


def data_metrics(settings: Settings) -> dict[str, float]:
    """Values for the data rules (drift_share, drift_features, fairness_*)."""
    values: dict[str, float] = {}
    view = drift_from_settings(settings)
    if view is not None and view.report.share_drifted is not None:
        values["drift_share"] = view.report.share_drifted
        values["drift_features"] = float(len(view.report.drifted))
    fair = fairness_from_settings(settings)
    if fair is not None:
        if fair.demographic_parity_ratio.value is not None:
            values["fairness_dp_ratio"] = fair.demographic_parity_ratio.value
        if fair.equalized_odds_difference.value is not None:
            values["fairness_eo_difference"] = fair.equalized_odds_difference.value
    return values


def build_monitor(
    settings: Settings,
    *,
    rules_path: Path | None = None,
    audit: Any | None = None,
    store: MonitorStore | None = None,
    webhook: str | None = None,
    extra_sinks: list[Sink] | None = None,
) -> Monitor:
    """A :class:`Monitor` wired to the audit log, the store and the configured sinks."""
    from bastion.audit import open_audit_log

    audit = audit if audit is not None else open_audit_log(settings)
    store = store if store is not None else store_from_settings(settings)
    rules = load_rules(rules_path or settings.monitor.rules)
    sinks: list[Sink] = [LogSink()]
    url = webhook or settings.monitor.webhook_url
    if url:
        try:
            sinks.append(WebhookSink(url, timeout=settings.monitor.webhook_timeout_seconds))
        except Exception as exc:
            raise ValidationError(str(exc), field="monitor.webhook_url") from None
    sinks.extend(extra_sinks or [])
    configured = settings.monitor.reference_profile or settings.monitor.predictions_log
    return Monitor(
        rules,
        audit,
        audit,
        store,
        sinks=sinks,
        playbook=Playbook(settings, store, audit),
        data_metrics=(lambda: data_metrics(settings)) if configured else None,
    )

"""Continuous monitoring and incident response: drift, fairness, abuse, alerts, incidents.

Public API::

    from bastion.monitor import profile_reference, drift, fairness_report, Monitor

    profile = profile_reference(Path("reference.parquet"))      # mergeable summaries
    profile.save(Path("ref.json"))
    report, _, _ = drift(Profile.load(Path("ref.json")), Path("today.csv"))  # streamed
    report.drifted                                             # ['age', ...]

    monitor = build_monitor(settings)                           # rules, sinks, store
    monitor.evaluate()                                          # alerts → incidents

See ``docs/monitoring.md``.
"""

from bastion.monitor.drift import (
    DEFAULT_THRESHOLDS,
    METHODS,
    DriftReport,
    FeatureDrift,
    compare,
    default_method,
    drift,
)
from bastion.monitor.fairness import (
    FairnessReport,
    GroupMetrics,
    Interval,
    JoinResult,
    WindowPerformance,
    fairness_report,
    join_labels,
    performance_over_time,
)
from bastion.monitor.playbook import ActionResult, Playbook, model_versions
from bastion.monitor.profile import Profile, Window, profile_reference, summarize_window
from bastion.monitor.rules import AlertRule, load_rules, parse_rules
from bastion.monitor.runner import Alert, Evaluation, LogSink, Monitor, WebhookSink
from bastion.monitor.service import build_monitor, data_metrics
from bastion.monitor.signals import Signals, compute_signals
from bastion.monitor.sketch import KllSketch, Moments
from bastion.monitor.store import Incident, MonitorStore, store_from_settings

__all__ = [
    "DEFAULT_THRESHOLDS",
    "METHODS",
    "ActionResult",
    "Alert",
    "AlertRule",
    "DriftReport",
    "Evaluation",
    "FairnessReport",
    "FeatureDrift",
    "GroupMetrics",
    "Incident",
    "Interval",
    "JoinResult",
    "KllSketch",
    "LogSink",
    "Moments",
    "Monitor",
    "MonitorStore",
    "Playbook",
    "Profile",
    "Signals",
    "WebhookSink",
    "Window",
    "WindowPerformance",
    "build_monitor",
    "compare",
    "compute_signals",
    "data_metrics",
    "default_method",
    "drift",
    "fairness_report",
    "join_labels",
    "load_rules",
    "model_versions",
    "parse_rules",
    "performance_over_time",
    "profile_reference",
    "store_from_settings",
    "summarize_window",
]

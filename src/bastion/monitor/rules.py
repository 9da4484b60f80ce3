"""Alert rules in YAML, validated with file, line and field.

```yaml
rules:
  - name: credential-stuffing
    metric: auth_failures        # per client address
    window: 5m
    threshold: 20                # fires when value >= threshold (op: ">=" by default)
    severity: high               # low | medium | high | critical
    incident: true               # open (or extend) an incident
    playbook: [block-client]     # actions suggested; run at once only with contain: true
    contain: false
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from bastion.core.errors import ValidationError
from bastion.monitor.signals import CLIENT_METRICS, SIGNAL_METRICS

SEVERITIES = ("low", "medium", "high", "critical")
OPERATORS = (">=", ">", "<=", "<")
PLAYBOOK_ACTIONS = ("revoke-key", "block-client", "rollback-model")
#: Metrics computed from data files rather than audit events.
DATA_METRICS = ("drift_share", "drift_features", "fairness_dp_ratio", "fairness_eo_difference")
METRICS = SIGNAL_METRICS + DATA_METRICS
_DURATION = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_FIELDS = {
    "name",
    "metric",
    "window",
    "threshold",
    "op",
    "severity",
    "incident",
    "playbook",
    "contain",
    "description",
}


def parse_window(text: str) -> timedelta:
    """``30s``, ``5m``, ``1h`` or ``7d`` as a positive timedelta."""
    match = _DURATION.fullmatch(str(text).strip())
    if match is None or int(match.group(1)) == 0:
        raise ValueError("windows look like 30s, 5m, 1h or 7d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class AlertRule:
    """One rule: a metric over a window compared with a threshold."""

    name: str
    metric: str
    window: timedelta
    threshold: float
    severity: str = "medium"
    op: str = ">="
    incident: bool = True
    playbook: tuple[str, ...] = ()
    contain: bool = False
    description: str = ""
    line: int = 0

    @property
    def subject_kind(self) -> str:
        if self.metric in CLIENT_METRICS:
            return "client"
        if self.metric in DATA_METRICS:
            return "dataset"
        return "principal"

    def fires(self, value: float) -> bool:
        return {
            ">=": value >= self.threshold,
            ">": value > self.threshold,
            "<=": value <= self.threshold,
            "<": value < self.threshold,
        }[self.op]


DEFAULT_RULES_YAML = """\
rules:
  - name: credential-stuffing
    metric: auth_failures
    window: 5m
    threshold: 20
    severity: high
    playbook: [block-client]
    description: bursts of refused authentications from one client address
  - name: model-extraction
    metric: extraction_score
    window: 15m
    threshold: 0.6
    severity: high
    playbook: [revoke-key]
    description: high-volume, non-repeating, machine-paced queries from one principal
  - name: injection-campaign
    metric: injection_detections
    window: 15m
    threshold: 5
    severity: medium
    playbook: [revoke-key]
    description: repeated prompt-injection attempts by one principal
  - name: harmful-content
    metric: harmful_detections
    window: 15m
    threshold: 5
    severity: medium
  - name: traffic-spike
    metric: traffic_change
    window: 15m
    threshold: 10
    severity: low
    incident: false
  - name: data-drift
    metric: drift_share
    window: 1h
    threshold: 0.3
    severity: medium
"""


def _where(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _scalar(node: yaml.Node, file: str, field: str) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise ValidationError("expected a single value", file=file, line=_where(node), field=field)
    # Constructed from the node itself: re-serialising it and parsing again failed on
    # scalars such as "..." (a document-end marker once written out on its own).
    try:
        return yaml.constructor.SafeConstructor().construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        raise ValidationError(
            f"unreadable value: {getattr(exc, 'problem', None) or exc}",
            file=file,
            line=_where(node),
            field=field,
        ) from None


def _rule(node: yaml.Node, file: str, index: int) -> AlertRule:
    prefix = f"rules[{index}]"
    if not isinstance(node, yaml.MappingNode):
        raise ValidationError("each rule is a mapping", file=file, line=_where(node), field=prefix)
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(_scalar(key_node, file, prefix))
        if key not in _FIELDS:
            raise ValidationError(
                f"unknown field; known: {', '.join(sorted(_FIELDS))}",
                file=file,
                line=_where(key_node),
                field=f"{prefix}.{key}",
            )
        lines[key] = _where(value_node)
        if key == "playbook":
            if not isinstance(value_node, yaml.SequenceNode):
                raise ValidationError(
                    "a list of actions", file=file, line=lines[key], field=f"{prefix}.playbook"
                )
            values[key] = [_scalar(item, file, f"{prefix}.playbook") for item in value_node.value]
        else:
            values[key] = _scalar(value_node, file, f"{prefix}.{key}")

    def fail(field: str, message: str) -> ValidationError:
        return ValidationError(
            message, file=file, line=lines.get(field, _where(node)), field=f"{prefix}.{field}"
        )

    for required in ("name", "metric", "window", "threshold"):
        if required not in values:
            raise fail(required, "required")
    name = str(values["name"])
    if not _NAME.fullmatch(name):
        raise fail("name", "lowercase letters, digits, '.', '_' or '-' (at most 64)")
    metric = str(values["metric"])
    if metric not in METRICS:
        raise fail("metric", f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    try:
        window = parse_window(str(values["window"]))
    except ValueError as exc:
        raise fail("window", str(exc)) from None
    threshold = values["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise fail("threshold", "a number")
    severity = str(values.get("severity", "medium"))
    if severity not in SEVERITIES:
        raise fail("severity", f"one of {', '.join(SEVERITIES)}")
    op = str(values.get("op", ">="))
    if op not in OPERATORS:
        raise fail("op", f"one of {', '.join(OPERATORS)}")
    playbook = tuple(str(a) for a in values.get("playbook", []))
    for action in playbook:
        if action not in PLAYBOOK_ACTIONS:
            raise fail(
                "playbook", f"unknown action {action!r}; known: {', '.join(PLAYBOOK_ACTIONS)}"
            )
    for flag in ("incident", "contain"):
        if flag in values and not isinstance(values[flag], bool):
            raise fail(flag, "true or false")
    return AlertRule(
        name=name,
        metric=metric,
        window=window,
        threshold=float(threshold),
        severity=severity,
        op=op,
        incident=bool(values.get("incident", True)),
        playbook=playbook,
        contain=bool(values.get("contain", False)),
        description=str(values.get("description", "")),
        line=_where(node),
    )


def parse_rules(text: str, file: str = "<rules>") -> list[AlertRule]:
    """Rules from YAML text; every error names file, line and field."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            file=file,
            line=mark.line + 1 if mark else None,
        ) from None
    if not isinstance(root, yaml.MappingNode):
        raise ValidationError("the file must be a mapping with a 'rules' list", file=file, line=1)
    rules_node = None
    for key_node, value_node in root.value:
        key = _scalar(key_node, file, "rules")
        if key != "rules":
            raise ValidationError(
                "unknown top-level field", file=file, line=_where(key_node), field=str(key)
            )
        rules_node = value_node
    if not isinstance(rules_node, yaml.SequenceNode):
        raise ValidationError(
            "'rules' must be a list", file=file, line=_where(rules_node or root), field="rules"
        )
    rules = [_rule(item, file, index) for index, item in enumerate(rules_node.value)]
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ValidationError(
                f"duplicate rule name {rule.name!r}", file=file, line=rule.line, field="name"
            )
        seen.add(rule.name)
    return rules


def load_rules(path: Path | None) -> list[AlertRule]:
    """Rules from ``path``, or the built-in defaults when ``path`` is None."""
    if path is None:
        return parse_rules(DEFAULT_RULES_YAML, "<built-in rules>")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError("rules file not found", file=str(path)) from None
    except UnicodeDecodeError:
        raise ValidationError("rules file is not UTF-8", file=str(path)) from None
    return parse_rules(text, str(path))

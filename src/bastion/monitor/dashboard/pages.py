"""Server-rendered HTML of the dashboard views (charts are inline PNG images)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from bastion.audit import AuditEvent
from bastion.core.timeutil import isoformat
from bastion.monitor.dashboard import charts
from bastion.monitor.fairness import FairnessReport
from bastion.monitor.plots import drift_ratio, feature_bins
from bastion.monitor.service import DriftView
from bastion.monitor.signals import reason_family
from bastion.monitor.store import Incident

NAV = (
    ("overview", "/dashboard", "Overview"),
    ("drift", "/dashboard/drift", "Drift"),
    ("fairness", "/dashboard/fairness", "Fairness"),
    ("incidents", "/dashboard/incidents", "Incidents"),
)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;
background:#f3f4f6;color:#111827}
header{background:#111827;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:center}
header h1{font-size:18px;margin:0 16px 0 0}
header a{color:#d1d5db;text-decoration:none;padding:6px 10px;border-radius:6px}
header a.active,header a:hover{background:#374151;color:#fff}
main{padding:20px 24px;max-width:1200px}
.cards{display:flex;gap:16px;flex-wrap:wrap;margin-bottom:16px}
.card{background:#fff;border-radius:10px;padding:14px 18px;box-shadow:0 1px 2px #0001;
min-width:150px}
.card .v{font-size:26px;font-weight:600}.card .k{color:#6b7280;font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
.panel{background:#fff;border-radius:10px;padding:12px;box-shadow:0 1px 2px #0001}
.panel img{max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:14px;background:#fff}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e7eb}
.sev-critical,.sev-high,.bad{color:#b91c1c;font-weight:600}.sev-medium{color:#b45309}.ok{color:#15803d}
.muted{color:#6b7280}.note{background:#fef3c7;padding:8px 12px;border-radius:8px}
form.login{background:#fff;padding:20px;border-radius:10px;max-width:480px}
input[type=password]{width:100%;padding:8px;margin:8px 0}
"""


def layout(title: str, active: str, body: str, principal: str = "") -> str:
    active_class = ' class="active"'
    links = "".join(
        f'<a id="nav-{key}" href="{href}"{active_class if key == active else ""}>{label}</a>'
        for key, href, label in NAV
    )
    who = f'<span class="muted">{escape(principal)}</span>' if principal else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)} · Bastion</title>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        '<link rel=stylesheet href="/dashboard/static/dashboard.css"></head>'
        f"<body><header><h1>Bastion monitor</h1>{links}{who}</header>"
        f'<main id="view-{active}"><h2>{escape(title)}</h2>{body}</main></body></html>'
    )


def _card(key: str, value: str, css: str = "") -> str:
    return (
        f'<div class="card"><div class="v {css}">{escape(value)}</div>'
        f'<div class="k">{escape(key)}</div></div>'
    )


def _img(uri: str, alt: str) -> str:
    return f'<div class="panel"><img alt="{escape(alt)}" src="{uri}"></div>'


def _buckets(since: datetime, until: datetime) -> tuple[list[datetime], timedelta]:
    span = until - since
    step = max(timedelta(minutes=1), span / 48)
    count = int(span / step) + 1
    return [since + step * i for i in range(count)], step


def overview(
    events: Sequence[AuditEvent],
    since: datetime,
    until: datetime,
    incidents: Sequence[Incident],
    alerts: Sequence[dict[str, Any]],
    blocked: int,
) -> str:
    """Traffic, refusals by reason, guard detections over time, open incidents, alerts."""
    times, step = _buckets(since, until)
    allowed = [0.0] * len(times)
    denied = [0.0] * len(times)
    families: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(times))
    reasons: Counter[str] = Counter()
    for event in events:
        index = min(len(times) - 1, max(0, int((event.time - since) / step)))
        details = event.details
        status = int(details.get("status", 0) or 0)
        (denied if status >= 400 else allowed)[index] += 1
        event_reasons = [str(r) for r in details.get("reasons", [])]
        if status >= 400:
            reasons.update(event_reasons or [f"http-{status}"])
        for family in {reason_family(r) for r in event_reasons} - {None}:
            families[str(family)][index] += 1
    total = len(events)
    refused = int(sum(denied))
    open_incidents = [i for i in incidents if i.state == "open"]
    cards = "".join(
        [
            _card("requests", f"{total:,}"),
            _card("refused", f"{refused:,} ({refused / total:.0%})" if total else "0"),
            _card("open incidents", str(len(open_incidents)), "bad" if open_incidents else "ok"),
            _card("blocked clients", str(blocked)),
        ]
    )
    top = reasons.most_common(12)
    grid = "".join(
        [
            _img(
                charts.time_series(
                    times, {"allowed": allowed, "refused": denied}, "traffic", stacked=True
                ),
                "traffic over time",
            ),
            _img(
                charts.bars([r for r, _ in top], [float(c) for _, c in top], "refusals by reason"),
                "refusals by reason",
            ),
            _img(
                charts.time_series(times, dict(families), "guard detections"),
                "guard detections over time",
            ),
        ]
    )
    return (
        f'<div class="cards">{cards}</div><div class="grid">{grid}</div>'
        f"<h3>Open incidents</h3>{incident_table(open_incidents)}"
        f"<h3>Recent alerts</h3>{alert_table(alerts)}"
    )


def incident_table(incidents: Sequence[Incident]) -> str:
    if not incidents:
        return '<p class="muted" id="no-incidents">No incidents.</p>'
    rows = "".join(
        f'<tr><td><a class="incident-link" href="/dashboard/incidents/{escape(i.id)}">'
        f"{escape(i.id)}</a></td>"
        f'<td class="sev-{escape(i.severity)}">{escape(i.severity)}</td><td>{escape(i.state)}</td>'
        f"<td>{escape(i.title)}</td><td>{escape(isoformat(i.opened_at))}</td></tr>"
        for i in incidents
    )
    return (
        '<table id="incidents"><tr><th>id</th><th>severity</th><th>state</th><th>title</th>'
        f"<th>opened</th></tr>{rows}</table>"
    )


def alert_table(alerts: Sequence[dict[str, Any]]) -> str:
    if not alerts:
        return '<p class="muted">No alerts.</p>'
    rows = "".join(
        f"<tr><td>{escape(str(a['time']))}</td><td>{escape(str(a['rule']))}</td>"
        f'<td class="sev-{escape(str(a["severity"]))}">{escape(str(a["severity"]))}</td>'
        f"<td>{escape(str(a['subject']))}</td><td>{float(a['value']):.4g}</td>"
        f"<td>{escape(str(a.get('incident_id') or '-'))}</td></tr>"
        for a in alerts[:25]
    )
    return (
        '<table id="alerts"><tr><th>time</th><th>rule</th><th>severity</th><th>subject</th>'
        f"<th>value</th><th>incident</th></tr>{rows}</table>"
    )


def incident_detail(incident: Incident) -> str:
    entries = "".join(
        f"<tr><td>{escape(isoformat(e.time))}</td><td>{escape(e.kind)}</td>"
        f"<td>{escape(e.actor)}</td><td>{escape(e.text)}</td></tr>"
        for e in incident.timeline
    )
    events = ", ".join(escape(e) for e in incident.audit_events[:50]) or "none"
    return (
        f'<div class="cards">{_card("severity", incident.severity, "sev-" + incident.severity)}'
        f"{_card('state', incident.state)}{_card('alerts', str(len(incident.alerts)))}</div>"
        f"<p>{escape(incident.title)}</p>"
        '<h3>Timeline</h3><table id="timeline"><tr><th>time</th><th>kind</th><th>actor</th>'
        f"<th>what</th></tr>{entries}</table>"
        f'<h3>Linked audit events</h3><p class="muted" id="audit-events">{events}</p>'
    )


def drift_page(view: DriftView | None) -> str:
    if view is None:
        return (
            '<p class="note" id="drift-unconfigured">Set <code>monitor.reference_profile</code> '
            "(from <code>bastion monitor profile</code>) and <code>monitor.current_data</code> "
            "to see drift here.</p>"
        )
    report = view.report
    tested = [f for f in report.features if f.statistic is not None]
    overview_chart = charts.bars(
        [f.feature for f in tested],
        [drift_ratio(f) for f in tested],
        "drift per feature (1.0 = threshold)",
        colors=[charts.BAD if f.drifted else charts.OK for f in tested],
        reference=1.0,
    )
    rows = "".join(
        f"<tr><td>{escape(f.feature)}</td><td>{escape(f.method or '-')}</td>"
        f"<td>{'' if f.statistic is None else f'{f.statistic:.4g}'}</td>"
        f"<td>{'' if f.p_value is None else f'{f.p_value:.3g}'}</td>"
        f"<td>{'' if f.threshold is None else f'{f.threshold:.4g}'}</td>"
        f'<td class="{"bad" if f.drifted else "ok"}">'
        f"{'drift' if f.drifted else ('ok' if f.drifted is False else escape(f.status))}</td>"
        f"<td>{escape(f.message)}</td></tr>"
        for f in report.features
    )
    worst = sorted(tested, key=drift_ratio, reverse=True)[:4]
    details = "".join(
        _img(
            charts.histogram_pair(*feature_bins(view.profile, view.window, f.feature), f.feature),
            f.feature,
        )
        for f in worst
    )
    problems = "".join(f"<li>{escape(p)}</li>" for p in report.problems)
    share = report.share_drifted
    return (
        '<div class="cards">'
        + _card("drifted features", str(len(report.drifted)), "bad" if report.drifted else "ok")
        + f"{_card('share drifted', '-' if share is None else f'{share:.0%}')}"
        f"{_card('current rows', f'{report.current_rows:,}')}</div>"
        f'<div class="grid">{_img(overview_chart, "drift per feature")}{details}</div>'
        '<table id="drift-table"><tr><th>feature</th><th>method</th><th>statistic</th><th>p</th>'
        f"<th>threshold</th><th>verdict</th><th>note</th></tr>{rows}</table>"
        + (f"<h3>Problems</h3><ul>{problems}</ul>" if problems else "")
    )


def fairness_page(report: FairnessReport | None) -> str:
    if report is None:
        return (
            '<p class="note" id="fairness-unconfigured">Set <code>monitor.predictions_log</code>, '
            "<code>monitor.labels_log</code> and <code>monitor.protected_attribute</code> "
            "to see fairness gaps here.</p>"
        )
    groups = report.groups

    def chart(metric: str, title: str, reference: float | None = None) -> str:
        shown = [g for g in groups if getattr(g, metric).value is not None]
        values = [float(getattr(g, metric).value) for g in shown]
        errors = [
            (
                float(getattr(g, metric).low if getattr(g, metric).low is not None else v),
                float(getattr(g, metric).high if getattr(g, metric).high is not None else v),
            )
            for g, v in zip(shown, values, strict=True)
        ]
        return _img(
            charts.bars(
                [g.group for g in shown], values, title, errors=errors, reference=reference
            ),
            title,
        )

    ratio = report.demographic_parity_ratio
    eo = report.equalized_odds_difference

    def fmt(interval: Any) -> str:
        if interval.value is None:
            return "n/a"
        if interval.low is None:
            return f"{interval.value:.3f}"
        return f"{interval.value:.3f} [{interval.low:.3f}, {interval.high:.3f}]"

    passed = report.four_fifths_passed
    verdict = "n/a" if passed is None else ("pass" if passed else "FAIL")
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    impact = [(k, v) for k, v in report.disparate_impact.items() if v.value is not None]
    impact_chart = charts.bars(
        [k for k, _ in impact],
        [float(v.value or 0) for _, v in impact],
        f"disparate impact vs {report.reference_group} (four-fifths line)",
        errors=[(float(v.low or v.value or 0), float(v.high or v.value or 0)) for _, v in impact],
        reference=0.8,
        colors=[charts.BAD if (v.value or 0) < 0.8 else charts.OK for _, v in impact],
    )
    return (
        f'<div class="cards">{_card("demographic parity ratio", fmt(ratio))}'
        f"{_card('equalized odds difference', fmt(eo))}"
        f"{_card('four-fifths rule', verdict, 'ok' if passed else 'bad')}</div>"
        f'<p class="muted">attribute <b>{escape(report.attribute)}</b>; '
        "intervals are 95% bootstrap.</p>"
        '<div class="grid" id="fairness-charts">'
        f"{chart('selection_rate', 'selection rate by group')}"
        f"{_img(impact_chart, 'disparate impact')}"
        f"{chart('tpr', 'true positive rate by group')}"
        f"{chart('fpr', 'false positive rate by group')}</div>"
        + (f"<ul>{notes}</ul>" if notes else "")
    )


def login_page(message: str = "") -> str:
    note = f'<p class="note">{escape(message)}</p>' if message else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Sign in · Bastion</title>"
        '<link rel=stylesheet href="/dashboard/static/dashboard.css"></head><body>'
        "<header><h1>Bastion monitor</h1></header><main>"
        f'{note}<form class="login" method="post" action="/dashboard/login">'
        "<label>API key with the <b>admin</b> scope<input type=password name=key "
        'autocomplete=off required></label><button type="submit">Sign in</button></form>'
        "</main></body></html>"
    )

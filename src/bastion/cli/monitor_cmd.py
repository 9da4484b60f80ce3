"""``bastion monitor``: reference profiles, drift, fairness, performance and alert evaluation."""

from __future__ import annotations

import json
import re
import signal
import threading
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from bastion.cli.context import console, settings_from
from bastion.core.errors import EXIT_FINDINGS, ValidationError

app = typer.Typer(help="Drift, fairness, performance and alert rules.", no_args_is_help=True)

_EVERY = re.compile(r"^(\d{1,6})(s|m|h)?$")


def _guard_scorer(enabled: bool) -> Any:
    if not enabled:
        return None
    from bastion.guards import load_chain

    chain = load_chain()

    def score(text: str) -> float:
        verdict = chain.scan_input(text)
        return float(len(verdict.reasons))

    return score


def _print(data: dict[str, Any]) -> None:
    console.print_json(json.dumps(data, default=str))


def _kinds(values: list[str]) -> dict[str, Any]:
    kinds: dict[str, Any] = {}
    for item in values:
        name, sep, kind = item.partition("=")
        if not sep or kind not in ("numeric", "categorical", "text"):
            raise ValidationError("use COLUMN=numeric|categorical|text", field="--kind")
        kinds[name] = kind
    return kinds


@app.command("profile")
def profile(
    reference: Path = typer.Argument(..., help="Reference data (.csv, .parquet, .jsonl)."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the profile JSON."),
    bins: int = typer.Option(50, help="Quantile bins per numeric feature."),
    chunks: int = typer.Option(10, help="Reference chunks (for data-driven thresholds)."),
    kind: list[str] = typer.Option([], "--kind", help="Override a column type: COL=text."),
    guard_scores: bool = typer.Option(False, help="Add guard-score features for text columns."),
    like: Path | None = typer.Option(
        None, "--like", help="Use this profile's columns and bins (so the two can be merged)."
    ),
) -> None:
    """Summarise a reference data set (streamed) into a mergeable JSON profile."""
    from bastion.monitor import Profile, profile_reference

    result = profile_reference(
        reference,
        bins=bins,
        chunks=chunks,
        kinds=_kinds(kind),
        guard=_guard_scorer(guard_scores),
        like=Profile.load(like) if like is not None else None,
    )
    result.save(out)
    console.print(
        f"profiled {result.rows:,} rows, {len(result.columns)} columns "
        f"({len(result.features)} features) → {out}"
    )


@app.command("merge")
def merge(
    profiles: list[Path] = typer.Argument(..., help="Profiles made with the same bins (--like)."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the merged profile."),
) -> None:
    """Merge profiles of successive reference batches without rereading the data."""
    from bastion.monitor import Profile

    merged = Profile.load(profiles[0])
    for path in profiles[1:]:
        merged = merged.merge(Profile.load(path))
    merged.save(out)
    console.print(f"merged {len(profiles)} profiles, {merged.rows:,} rows → {out}")


@app.command("drift")
def drift_command(
    reference: Path = typer.Option(
        ..., "--reference", "-r", help="Reference data or profile JSON."
    ),
    current: Path = typer.Option(..., "--current", "-c", help="Current data (streamed)."),
    method: str | None = typer.Option(None, help="psi, ks, chi2, jensenshannon or wasserstein."),
    data_driven: bool = typer.Option(
        False, help="Thresholds from the spread across reference chunks."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON report."),
    plot: Path | None = typer.Option(None, "--plot", help="Write PNG plots into this directory."),
    guard_scores: bool = typer.Option(False, help="Compare guard scores of text columns."),
) -> None:
    """Compare current data with a reference; exit 1 when any feature drifted."""
    from bastion.monitor import drift
    from bastion.monitor.plots import write_plots

    report, prof, window = drift(
        reference,
        current,
        method=method,
        data_driven=data_driven,
        guard=_guard_scorer(guard_scores),
    )
    if plot is not None:
        write_plots(report, prof, window, plot)
    if as_json:
        _print(report.to_dict())
    else:
        table = Table(
            title=f"drift: {report.current_rows:,} current vs "
            f"{report.reference_rows:,} reference rows"
        )
        for column in ("feature", "method", "statistic", "p-value", "threshold", "verdict", "note"):
            table.add_column(column)
        for f in report.features:
            verdict = (
                "[red]drift[/red]"
                if f.drifted
                else "[green]ok[/green]"
                if f.drifted is False
                else f"[yellow]{f.status}[/yellow]"
            )
            table.add_row(
                f.feature,
                f.method or "-",
                "-" if f.statistic is None else f"{f.statistic:.4g}",
                "-" if f.p_value is None else f"{f.p_value:.3g}",
                "-" if f.threshold is None else f"{f.threshold:.4g}",
                verdict,
                f.message,
            )
        console.print(table)
        for note in report.problems:
            console.print(f"[yellow]note:[/yellow] {note}")
    if report.drifted:
        raise typer.Exit(EXIT_FINDINGS)


@app.command("fairness")
def fairness_command(
    predictions: Path = typer.Option(
        ..., help="Logged predictions: prediction_id, group, prediction[, score]."
    ),
    attribute: str = typer.Option(..., help="Protected attribute column."),
    labels: Path | None = typer.Option(None, help="Later-arriving labels: prediction_id, label."),
    score: str | None = typer.Option(None, help="Score column (probabilities) for calibration."),
    positive: str = typer.Option("1", help="The favourable prediction/label value."),
    bootstrap: int = typer.Option(500, min=50, max=10_000, help="Bootstrap resamples."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Per-group rates and gaps with bootstrap intervals; exit 1 when the four-fifths rule fails."""
    from bastion.monitor import fairness_report, join_labels
    from bastion.monitor.service import read_table

    joined = join_labels(read_table(predictions), read_table(labels) if labels else None)
    report = fairness_report(
        joined.frame,
        attribute=attribute,
        score_column=score,
        positive=int(positive) if positive.isdigit() else positive,
        bootstrap=bootstrap,
        notes=joined.notes,
    )
    if as_json:
        _print(report.to_dict())
    else:
        table = Table(title=f"fairness by {attribute}")
        for column in (
            "group",
            "n",
            "labelled",
            "selection",
            "TPR",
            "FPR",
            "precision",
            "calibration gap",
        ):
            table.add_column(column)

        def cell(interval: Any) -> str:
            if interval.value is None:
                return "n/a"
            if interval.low is None:
                return f"{interval.value:.3f}"
            return f"{interval.value:.3f} [{interval.low:.3f}, {interval.high:.3f}]"

        for g in report.groups:
            table.add_row(
                g.group,
                str(g.count),
                str(g.labelled),
                cell(g.selection_rate),
                cell(g.tpr),
                cell(g.fpr),
                cell(g.precision),
                cell(g.calibration_gap),
            )
        console.print(table)
        console.print(f"demographic parity difference {cell(report.demographic_parity_difference)}")
        console.print(f"demographic parity ratio      {cell(report.demographic_parity_ratio)}")
        console.print(f"equalized odds difference     {cell(report.equalized_odds_difference)}")
        verdict = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "n/a"}
        console.print(f"four-fifths rule              {verdict[report.four_fifths_passed]}")
        for note in report.notes:
            console.print(f"[yellow]note:[/yellow] {note}")
    if report.four_fifths_passed is False:
        raise typer.Exit(EXIT_FINDINGS)


@app.command("performance")
def performance_command(
    predictions: Path = typer.Option(..., help="Logged predictions with a time column."),
    labels: Path | None = typer.Option(None, help="Later-arriving labels."),
    window: str = typer.Option("1D", help="Window length (pandas offset: 1h, 1D, 7D)."),
    score: str | None = typer.Option(None, help="Score column for AUC."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Accuracy, F1 and AUC per time window once labels have arrived."""
    from bastion.monitor import join_labels, performance_over_time
    from bastion.monitor.service import read_table

    joined = join_labels(read_table(predictions), read_table(labels) if labels else None)
    rows = performance_over_time(joined.frame, window=window, score_column=score)
    if as_json:
        _print({"windows": [r.to_dict() for r in rows], "notes": joined.notes})
        return
    table = Table(title=f"performance per {window}")
    for column in ("window start", "labelled", "accuracy", "F1", "AUC"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.start,
            str(r.count),
            *("n/a" if v is None else f"{v:.3f}" for v in (r.accuracy, r.f1, r.auc)),
        )
    console.print(table)
    for note in joined.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


@app.command("rules")
def rules_command(
    ctx: typer.Context,
    rules: Path | None = typer.Argument(None, help="Rules YAML (default: configured or built-in)."),
) -> None:
    """Validate and list alert rules."""
    from bastion.monitor import load_rules

    loaded = load_rules(rules or settings_from(ctx).monitor.rules)
    table = Table(title="alert rules")
    for column in ("name", "metric", "window", "condition", "severity", "incident", "playbook"):
        table.add_column(column)
    for rule in loaded:
        table.add_row(
            rule.name,
            rule.metric,
            str(rule.window),
            f"{rule.op} {rule.threshold:g}",
            rule.severity,
            "yes" if rule.incident else "no",
            ", ".join(rule.playbook) + (" (auto)" if rule.contain and rule.playbook else ""),
        )
    console.print(table)


def parse_every(text: str) -> float:
    match = _EVERY.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise ValidationError("intervals look like 60s, 5m or 1h", field="--every")
    return float(int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)])


@app.command("run")
def run_command(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Evaluate once and exit."),
    every: str | None = typer.Option(None, "--every", help="Evaluate on a schedule, e.g. 60s."),
    rules: Path | None = typer.Option(None, "--rules", help="Rules YAML."),
    webhook: str | None = typer.Option(None, "--webhook", help="Also POST alerts here (JSON)."),
    as_json: bool = typer.Option(False, "--json", help="Print each evaluation as JSON."),
) -> None:
    """Evaluate alert rules on the audit log (and configured data); --once exits 1 on alerts."""
    from bastion.monitor import build_monitor

    if once == (every is not None):
        raise ValidationError("give exactly one of --once or --every", field="--once")
    interval = parse_every(every) if every is not None else 0.0
    monitor = build_monitor(settings_from(ctx), rules_path=rules, webhook=webhook)

    def show(evaluation: Any) -> None:
        if as_json:
            _print(evaluation.to_dict())
            return
        console.print(
            f"{evaluation.rules} rules, {evaluation.events} gateway events, "
            f"{len(evaluation.alerts)} alert(s), "
            f"incidents: {', '.join(evaluation.incidents) or '-'}"
        )
        for alert in evaluation.alerts:
            console.print(
                f"  [red]{alert.severity}[/red] {alert.rule} {alert.subject} "
                f"{alert.metric}={alert.value:.4g} (threshold {alert.threshold:g})"
            )

    if once:
        evaluation = monitor.evaluate()
        show(evaluation)
        if evaluation.alerts:
            raise typer.Exit(EXIT_FINDINGS)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            show(monitor.evaluate())
            stop.wait(interval)
    except KeyboardInterrupt:
        console.print("stopped")

"""``bastion risk``: threat-model a system, keep its risk register, report and diff."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from bastion.cli.context import console, settings_from
from bastion.core.errors import ValidationError
from bastion.core.timeutil import isoformat, parse_iso, utcnow

app = typer.Typer(
    help="AI risk assessment as code: threats, register, frameworks, reports.", no_args_is_help=True
)
atlas_app = typer.Typer(help="MITRE ATLAS catalogue.", no_args_is_help=True)
app.add_typer(atlas_app, name="atlas")

_BANDS = ("low", "medium", "high", "critical")


def _as_of(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return isoformat(parse_iso(value))
    except ValueError as exc:
        raise ValidationError(f"--as-of: {exc}", field="as-of") from None


@app.command("assess")
def assess_command(
    system: Path = typer.Argument(..., help="System model YAML."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory for the reports."),
    register: Path | None = typer.Option(
        None, "--register", help="Register to merge edits from (default OUT/register.json)."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Time recorded for evidence checks (ISO-8601 UTC); omit to leave it out.",
    ),
    fail_on: str | None = typer.Option(
        None, "--fail-on", help="Exit 1 if any residual risk is at or above this band."
    ),
) -> None:
    """Assess SYSTEM and write report.md/html, register.json/csv, DFD, heat maps and plans."""
    from bastion.risk import assess, write_reports

    if fail_on is not None and fail_on not in _BANDS:
        raise ValidationError(f"--fail-on must be one of {', '.join(_BANDS)}", field="fail-on")
    previous = register or out / "register.json"
    result = assess(system, previous_register=previous, as_of=_as_of(as_of))
    written = write_reports(result, out)
    counts = {b: sum(1 for e in result.active if e["residual_band"] == b) for b in _BANDS}
    console.print(
        f"[bold]{result.model.name}[/]: {len(result.active)} threats "
        f"({len(result.suppressed)} suppressed); residual "
        + ", ".join(f"{counts[b]} {b}" for b in reversed(_BANDS))
        + f"; EU AI Act tier: {result.tier['tier']}"
    )
    console.print(f"wrote {len(written)} files to {out}")
    if fail_on is not None and any(
        _BANDS.index(e["residual_band"]) >= _BANDS.index(fail_on) for e in result.active
    ):
        raise typer.Exit(1)


@app.command("validate")
def validate_command(system: Path = typer.Argument(..., help="System model YAML.")) -> None:
    """Validate a system model and print what it contains."""
    from bastion.risk import default_catalogue, load_system

    catalogue = default_catalogue()
    model = load_system(system, controls=catalogue.controls, atlas=catalogue.atlas)
    console.print(
        f"{system}: valid — {len(model.elements)} elements, {len(model.flows)} flows, "
        f"{len(model.boundaries)} boundaries, {len(model.files)} files"
    )


@app.command("diff")
def diff_command(
    old: Path = typer.Argument(..., help="Older assessment directory or register file."),
    new: Path = typer.Argument(..., help="Newer assessment directory or register file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show added, vanished and changed risks between two assessments."""
    from bastion.risk import diff_paths

    result = diff_paths(old, new)
    if as_json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    table = Table(title="Risk register changes")
    for column in ("change", "id", "detail"):
        table.add_column(column)
    for kind in ("added", "removed", "vanished", "reappeared"):
        for item in result[kind]:
            table.add_row(
                kind,
                item["id"],
                f"{item['title']} on {item['target']} (residual {item['residual_score']})",
            )
    for change in result["changed"]:
        table.add_row(
            "changed", change["id"], f"{change['field']}: {change['old']} → {change['new']}"
        )
    console.print(table)
    total = result["total_residual"]
    console.print(f"total residual score {total['old']} → {total['new']}")


@app.command("signoff")
def signoff_command(
    ctx: typer.Context,
    register: Path = typer.Argument(..., help="Register file (register.json)."),
    role: str = typer.Option(..., "--role", help="Signing role, e.g. legal, security-officer."),
    by: str = typer.Option(..., "--by", help="Name of the person signing."),
    threat: str | None = typer.Option(
        None, "--threat", help="Sign one threat (e.g. an accepted risk) instead of the register."
    ),
    note: str = typer.Option("", "--note", help="Short note stored with the sign-off."),
) -> None:
    """Record a sign-off by role in the register and the audit log."""
    from bastion.audit import open_audit_log
    from bastion.risk import signoff

    with open_audit_log(settings_from(ctx)) as sink:
        record = signoff(
            register, role=role, by=by, at=isoformat(utcnow()), sink=sink, threat=threat, note=note
        )
    console.print(f"signed off by {record['by']} as {record['role']} (recorded in the audit log)")


@app.command("controls")
def controls_command() -> None:
    """List the control catalogue and what each control reduces."""
    from bastion.risk import default_catalogue

    table = Table(title="Controls")
    for column in ("id", "title", "reduces", "frameworks"):
        table.add_column(column)
    for control in default_catalogue().controls.values():
        reduces = f"L-{control.reduces_likelihood} I-{control.reduces_impact}"
        table.add_row(control.id, control.title, reduces, ", ".join(sorted(control.maps)))
    console.print(table)


@app.command("rules")
def rules_command() -> None:
    """List the threat rules."""
    from bastion.risk import default_catalogue

    table = Table(title="Threat rules")
    for column in ("id", "scope", "title", "tags"):
        table.add_column(column)
    for rule in default_catalogue().rules:
        tags = ", ".join(rule.stride + rule.linddun + rule.atlas + rule.owasp_llm + rule.owasp_ml)
        table.add_row(rule.id, rule.scope, rule.title, tags)
    console.print(table)


@atlas_app.command("import")
def atlas_import_command(
    source: Path = typer.Argument(..., help="Official ATLAS.yaml."),
    to: Path | None = typer.Option(
        None, "--to", help="Catalogue file to write (default: the packaged catalogue)."
    ),
) -> None:
    """Import ATLAS tactics, techniques and mitigations (ids, titles, our own summaries)."""
    from bastion.risk.atlas import import_atlas, shipped_catalogue_path, write_catalogue

    document = import_atlas(source)
    target = to or shipped_catalogue_path()
    write_catalogue(document, target)
    console.print(
        f"ATLAS {document['source']['version']}: {len(document['tactics'])} tactics, "
        f"{len(document['techniques'])} techniques, "
        f"{len(document['mitigations'])} mitigations → {target}"
    )

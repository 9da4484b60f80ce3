"""``bastion incident``: open, list, show, act on and close incidents."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from bastion.cli.context import console, operator_id, settings_from
from bastion.core.errors import ValidationError

app = typer.Typer(help="Incident records and containment playbook actions.", no_args_is_help=True)

ACTIONS = ("revoke-key", "block-client", "rollback-model")


def _actor() -> str:
    return operator_id()


def _store(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from bastion.monitor import store_from_settings

    return store_from_settings(settings_from(ctx))


@app.command("open")
def open_command(
    ctx: typer.Context,
    title: str = typer.Argument(..., help="What happened, in a line."),
    severity: str = typer.Option("medium", help="low, medium, high or critical."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Open an incident by hand (alerts open their own)."""
    from bastion.audit import open_audit_log

    settings = settings_from(ctx)
    incident = _store(ctx).open_incident(title, severity, _actor())
    with open_audit_log(settings) as audit:
        audit.append(
            principal=_actor(),
            action="incident:open",
            resource=f"incident:{incident.id}",
            outcome="success",
            details={"event": "incident-open", "severity": severity},
        )
    if as_json:
        console.print_json(json.dumps(incident.to_dict()))
    else:
        console.print(f"opened {incident.id} ({severity})")


@app.command("list")
def list_command(
    ctx: typer.Context,
    state: str | None = typer.Option(None, help="open or closed (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List incidents, newest first."""
    incidents = _store(ctx).list_incidents(state)
    if as_json:
        console.print_json(json.dumps([i.to_dict() for i in incidents]))
        return
    table = Table(title="incidents")
    for column in ("id", "severity", "state", "opened", "title"):
        table.add_column(column)
    for i in incidents:
        table.add_row(i.id, i.severity, i.state, i.opened_at.isoformat(), i.title)
    console.print(table)


@app.command("show")
def show_command(
    ctx: typer.Context,
    incident_id: str = typer.Argument(..., help="Incident id (inc-…)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """An incident with its timeline, linked alerts and audit events."""
    incident = _store(ctx).get(incident_id)
    if as_json:
        console.print_json(json.dumps(incident.to_dict()))
        return
    console.print(f"[bold]{incident.id}[/bold] {incident.title}")
    console.print(
        f"severity {incident.severity}, {incident.state}, opened {incident.opened_at.isoformat()}"
    )
    table = Table(title="timeline")
    for column in ("time", "kind", "actor", "what"):
        table.add_column(column)
    for entry in incident.timeline:
        table.add_row(entry.time.isoformat(), entry.kind, entry.actor, entry.text)
    console.print(table)
    console.print(f"alerts: {', '.join(incident.alerts) or '-'}")
    console.print(f"audit events: {', '.join(incident.audit_events) or '-'}")


@app.command("act")
def act_command(
    ctx: typer.Context,
    incident_id: str = typer.Argument(..., help="Incident id."),
    action: str = typer.Argument(..., help="revoke-key, block-client or rollback-model."),
    target: str = typer.Argument(..., help="Key name, client address or model name."),
) -> None:
    """Run a playbook action; it is recorded in the incident and the audit log."""
    from bastion.audit import open_audit_log
    from bastion.monitor import Playbook

    if action not in ACTIONS:
        raise ValidationError(f"one of {', '.join(ACTIONS)}", field="action")
    settings = settings_from(ctx)
    with open_audit_log(settings) as audit:
        result = Playbook(settings, _store(ctx), audit).run(incident_id, action, target, _actor())
    console.print(f"{result.action}: {result.target} {json.dumps(result.detail)}")


@app.command("close")
def close_command(
    ctx: typer.Context,
    incident_id: str = typer.Argument(..., help="Incident id."),
    resolution: str = typer.Option(..., "--resolution", "-m", help="How it was resolved."),
) -> None:
    """Close an incident with a resolution note."""
    from bastion.audit import open_audit_log

    settings = settings_from(ctx)
    incident = _store(ctx).close_incident(incident_id, _actor(), resolution)
    with open_audit_log(settings) as audit:
        audit.append(
            principal=_actor(),
            action="incident:close",
            resource=f"incident:{incident.id}",
            outcome="success",
            details={"event": "incident-close"},
        )
    console.print(f"closed {incident.id}")


@app.command("unblock")
def unblock_command(
    ctx: typer.Context, address: str = typer.Argument(..., help="Client address to unblock.")
) -> None:
    """Remove a client address from the gateway's blocklist."""
    if not _store(ctx).unblock(address):
        raise ValidationError(f"{address} is not blocked", field="address")
    console.print(f"unblocked {address}")

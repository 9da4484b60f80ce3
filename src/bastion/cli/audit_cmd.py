"""``bastion audit``: verify, inspect, prove and export the tamper-evident audit log."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

import typer
from rich.table import Table
from rich.text import Text

from bastion.audit import AuditLog, open_audit_log, verify_inclusion
from bastion.cli.context import console, err_console, settings_from
from bastion.core.crypto import load_ed25519_public
from bastion.core.errors import EXIT_FINDINGS, ValidationError
from bastion.core.timeutil import isoformat, parse_iso

app = typer.Typer(
    help="Verify, inspect, prove and export the tamper-evident audit log.",
    no_args_is_help=True,
)


def _open(ctx: typer.Context) -> AuditLog:
    return open_audit_log(settings_from(ctx))


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise ValidationError(str(exc), field=name) from None


@app.command("verify")
def verify(
    ctx: typer.Context,
    public_key: Path | None = typer.Option(
        None, "--public-key", help="Verify signatures with this Ed25519 public key (PEM)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Recompute the hash chain and every signed checkpoint; exit 1 naming the first bad event."""
    key = load_ed25519_public(public_key.read_bytes()) if public_key else None
    with _open(ctx) as log:
        report = log.verify(key)
    if as_json:
        console.print_json(json.dumps(report.to_dict(), sort_keys=True))
    elif report.ok:
        console.print(Text(report.summary(), style="green"))
    else:
        err_console.print(Text(report.summary(), style="bold red"), soft_wrap=True)
    if not report.ok:
        raise typer.Exit(EXIT_FINDINGS)


@app.command("show")
def show(
    ctx: typer.Context,
    principal: str | None = typer.Option(None, "--principal", help="Only this principal."),
    action: str | None = typer.Option(None, "--action", help="Only this action."),
    outcome: str | None = typer.Option(None, "--outcome", help="Only this outcome."),
    since: str | None = typer.Option(None, "--since", help="From this UTC time (ISO 8601)."),
    until: str | None = typer.Option(None, "--until", help="Up to this UTC time (ISO 8601)."),
    limit: int = typer.Option(50, "--limit", min=1, help="Show at most the newest N events."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List audit events, oldest first, filtered by principal, action, outcome and time."""
    with _open(ctx) as log:
        events = log.query(
            principal=principal,
            action=action,
            outcome=outcome,
            since=_when(since, "since"),
            until=_when(until, "until"),
            limit=limit,
        )
    if as_json:
        console.print_json(json.dumps([e.to_dict() for e in events], sort_keys=True))
        return
    table = Table(title=f"audit events ({len(events)} shown)")
    for column in ("seq", "time (UTC)", "principal", "action", "resource", "outcome", "details"):
        table.add_column(column, overflow="fold")
    for event in events:
        style = "red" if event.outcome in ("deny", "failure", "error") else None
        table.add_row(
            str(event.seq),
            isoformat(event.time),
            event.principal,
            event.action,
            event.resource,
            Text(event.outcome, style=style or ""),
            event.details_json,
        )
    console.print(table)


@app.command("prove")
def prove(
    ctx: typer.Context,
    event_id: str = typer.Argument(..., help="Id of the event to prove."),
    as_json: bool = typer.Option(False, "--json", help="Print proof, event and checkpoint."),
) -> None:
    """Print an O(log n) inclusion proof of one event in a signed checkpoint, and check it."""
    with _open(ctx) as log:
        proof = log.prove(event_id)
        event = log.get(event_id)
        checkpoint = log.checkpoint_at(proof.tree_size)
        public_key = log.public_key
    assert public_key is not None  # open_audit_log always has the key
    valid = verify_inclusion(proof, event, checkpoint, public_key)
    if as_json:
        bundle = {
            "valid": valid,
            "proof": proof.to_dict(),
            "event": event.to_dict(),
            "checkpoint": checkpoint.to_dict(),
        }
        console.print_json(json.dumps(bundle, sort_keys=True))
    else:
        console.print(f"event      {event.id} (leaf {proof.leaf_index})")
        console.print(f"checkpoint tree size {checkpoint.tree_size}, root {checkpoint.root}")
        console.print(f"leaf hash  {proof.leaf_hash}")
        for index, node in enumerate(proof.audit_path):
            console.print(f"path[{index:2d}]   {node}")
        verdict = "VALID" if valid else "INVALID"
        console.print(Text(f"inclusion proof {verdict}", style="green" if valid else "bold red"))
    if not valid:
        raise typer.Exit(EXIT_FINDINGS)


@app.command("export")
def export(
    ctx: typer.Context,
    export_format: str = typer.Option("jsonl", "--format", help="Output format (jsonl)."),
    out: Path | None = typer.Option(None, "--out", help="Write to FILE instead of stdout."),
    principal: str | None = typer.Option(None, "--principal", help="Only this principal."),
    action: str | None = typer.Option(None, "--action", help="Only this action."),
    since: str | None = typer.Option(None, "--since", help="From this UTC time (ISO 8601)."),
    until: str | None = typer.Option(None, "--until", help="Up to this UTC time (ISO 8601)."),
) -> None:
    """Export events and signed checkpoints as JSON lines for auditors."""
    if export_format != "jsonl":
        raise ValidationError("only 'jsonl' is supported", field="--format")
    since_at, until_at = _when(since, "since"), _when(until, "until")
    with _open(ctx) as log:

        def write(stream: TextIO) -> int:
            return log.export_jsonl(
                stream, principal=principal, action=action, since=since_at, until=until_at
            )

        if out is None:
            count = write(sys.stdout)
        else:
            with out.open("w", encoding="utf-8") as handle:
                count = write(handle)
    if out is not None:
        console.print(f"exported {count} events to {out}")


@app.command("checkpoint")
def checkpoint(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the checkpoint as JSON."),
) -> None:
    """Sign a checkpoint over every event so far (also appended to the witness file)."""
    with _open(ctx) as log:
        signed = log.checkpoint()
    if as_json:
        console.print_json(json.dumps(signed.to_dict(), sort_keys=True))
        return
    console.print(
        f"checkpoint: {signed.tree_size} events, root {signed.root}, "
        f"key {signed.key_id}, {isoformat(signed.time)}"
    )

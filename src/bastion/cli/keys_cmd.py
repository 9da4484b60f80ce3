"""``bastion keys``: create and inspect Bastion's keys (values are never printed).

The group is meant to grow (API-key management joins it), so each command is a
plain function on ``app`` and the table helpers are reusable.
"""

from __future__ import annotations

import json

import typer
from rich.table import Table
from rich.text import Text

from bastion.cli.context import console, settings_from
from bastion.core.errors import EXIT_FINDINGS
from bastion.secrets import WELL_KNOWN_KEYS, KeyRing, KeyStatus, keyring_from_settings

app = typer.Typer(
    help="Create and inspect Bastion's keys in the configured secrets backend.",
    no_args_is_help=True,
)


def keyring(ctx: typer.Context) -> KeyRing:
    """The key ring of the configured backend."""
    return keyring_from_settings(settings_from(ctx))


def _status_json(statuses: list[KeyStatus], results: dict[str, str] | None = None) -> str:
    rows = []
    for status in statuses:
        row: dict[str, object] = {
            "name": status.name,
            "kind": status.kind,
            "present": status.present,
            "public_key_id": status.public_key_id,
            "problem": status.problem,
        }
        if results is not None:
            row["result"] = results.get(status.name)
        rows.append(row)
    return json.dumps(rows, sort_keys=True)


@app.command("init")
def init(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Create every missing key in the configured backend; existing keys are never overwritten."""
    ring = keyring(ctx)
    results = ring.init()
    statuses = {status.name: status for status in ring.status()}
    ordered = [statuses[spec.name] for spec in WELL_KNOWN_KEYS]
    if as_json:
        console.print_json(_status_json(ordered, dict(results)))
        return
    table = Table(title=f"keys in {ring.describe()}")
    table.add_column("key", style="cyan")
    table.add_column("kind")
    table.add_column("result")
    table.add_column("public key id")
    for status in ordered:
        result = results[status.name]
        style = "green" if result == "created" else "dim"
        table.add_row(
            status.name,
            status.kind,
            f"[{style}]{result}[/{style}]",
            status.public_key_id or "-",
        )
    console.print(table)


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show which keys exist and their public key ids; exit 1 if any is missing or unusable."""
    ring = keyring(ctx)
    statuses = ring.status()
    if as_json:
        console.print_json(_status_json(statuses))
    else:
        table = Table(title=f"keys in {ring.describe()}")
        table.add_column("key", style="cyan")
        table.add_column("kind")
        table.add_column("state")
        table.add_column("public key id")
        table.add_column("purpose")
        for item in statuses:
            if item.problem:
                state = "[red]unusable[/red]"
            else:
                state = "[green]present[/green]" if item.present else "[yellow]missing[/yellow]"
            table.add_row(item.name, item.kind, state, item.public_key_id or "-", item.purpose)
        console.print(table)
        for item in statuses:
            if item.problem:
                line = Text(item.name, style="red") + Text(f": {item.problem}")
                console.print(line, soft_wrap=True)
        missing = [item.name for item in statuses if not item.present and not item.problem]
        if missing:
            console.print(f"missing: {', '.join(missing)}; run `bastion keys init`", soft_wrap=True)
    if any(not item.present or item.problem for item in statuses):
        raise typer.Exit(EXIT_FINDINGS)

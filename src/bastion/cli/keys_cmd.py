"""``bastion keys``: create and inspect Bastion's keys (values are never printed).

The group is meant to grow (API-key management joins it), so each command is a
plain function on ``app`` and the table helpers are reusable.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from bastion.cli.context import audited, console, settings_from
from bastion.core.errors import EXIT_FINDINGS
from bastion.secrets import WELL_KNOWN_KEYS, KeyRing, KeyStatus, keyring_from_settings

if TYPE_CHECKING:
    from bastion.serving.apikeys import ApiKeyRecord, ApiKeyStore, IssuedKey

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
    # The audit log's own checkpoint key may be among those created: open it afterwards.
    with audited(ctx, "keys:init", "keys:well-known", open_first=False) as details:
        results = ring.init()
        details["created"] = sorted(name for name, result in results.items() if result == "created")
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


# API keys for the gateway ---------------------------------------------------------------
def _key_store(ctx: typer.Context) -> ApiKeyStore:
    # Imported here: the gateway's dependencies are the optional ``serve`` extra.
    from bastion.serving.apikeys import key_store_from_settings

    return key_store_from_settings(settings_from(ctx))


def _audit_details(record: ApiKeyRecord) -> dict[str, object]:
    """What the audit log keeps about a key operation: never the key, only its prefix."""
    row = record.to_dict()
    return {key: row[key] for key in ("prefix", "scopes", "expires_at", "state") if key in row}


def _print_issued(issued: IssuedKey, as_json: bool, verb: str) -> None:
    if as_json:
        console.print_json(json.dumps({**issued.record.to_dict(), "key": issued.plaintext}))
        return
    record = issued.record
    expires = record.to_dict()["expires_at"] or "never"
    console.print(
        f"{verb} API key [cyan]{record.name}[/cyan] (scopes {', '.join(sorted(record.scopes))}, "
        f"expires {expires}). It is shown once; store it now:",
        soft_wrap=True,
    )
    console.print(issued.plaintext, soft_wrap=True, markup=False, highlight=False)


@app.command("create")
def create_key(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", help="Key name (the principal is key:<name>)."),
    scopes: str = typer.Option(..., "--scopes", help="Comma-separated: predict, guard, admin."),
    expires: str | None = typer.Option(None, "--expires", help="Lifetime such as 90d or 12h."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (includes the key once)."),
) -> None:
    """Create a gateway API key; the key is printed once and only its hash is stored."""
    from bastion.serving.apikeys import check_name, parse_duration, parse_scopes

    lifetime = parse_duration(expires) if expires else None
    store = _key_store(ctx)
    wanted = parse_scopes(scopes)
    check_name(name)  # bad input is refused before anything else is opened
    with audited(ctx, "apikey:create", f"apikey:{name}", {"scopes": sorted(wanted)}) as details:
        issued = store.create(name, wanted, expires_in=lifetime)
        details.update(_audit_details(issued.record))
    _print_issued(issued, as_json, "created")


@app.command("list")
def list_keys(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List gateway API keys (names, prefixes, scopes, expiry, state; never the keys)."""
    records = _key_store(ctx).list()
    if as_json:
        console.print_json(json.dumps([record.to_dict() for record in records]))
        return
    table = Table(title="gateway API keys")
    for column in ("name", "prefix", "scopes", "created", "expires", "state"):
        table.add_column(column)
    for record in records:
        row = record.to_dict()
        state = str(row["state"])
        style = "green" if state == "active" else "red"
        table.add_row(
            record.name,
            record.prefix,
            ",".join(sorted(record.scopes)),
            str(row["created_at"]),
            str(row["expires_at"] or "never"),
            f"[{style}]{state}[/{style}]",
        )
    console.print(table)


@app.command("revoke")
def revoke_key(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Key name or prefix."),
) -> None:
    """Revoke an API key; every gateway process refuses it from the next request on."""
    with audited(ctx, "apikey:revoke", f"apikey:{name}") as details:
        record = _key_store(ctx).revoke(name)
        details.update(_audit_details(record))
    console.print(f"revoked API key [cyan]{record.name}[/cyan] ({record.prefix})")


@app.command("rotate")
def rotate_key(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Key name."),
    expires: str | None = typer.Option(None, "--expires", help="New lifetime (default: same)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (includes the key once)."),
) -> None:
    """Replace an API key's secret (same name and scopes); the old key stops working now."""
    from bastion.serving.apikeys import parse_duration

    lifetime = parse_duration(expires) if expires else None
    with audited(ctx, "apikey:rotate", f"apikey:{name}") as details:
        issued = _key_store(ctx).rotate(name, expires_in=lifetime)
        details.update(_audit_details(issued.record))
    _print_issued(issued, as_json, "rotated")

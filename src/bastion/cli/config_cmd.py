"""``bastion config``: inspect the effective configuration."""

from __future__ import annotations

import json

import typer

from bastion.cli.context import console, settings_from
from bastion.core.settings import redacted_view

app = typer.Typer(
    help="Inspect the effective configuration (secrets redacted).", no_args_is_help=True
)


@app.command("show")
def show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a tree."),
) -> None:
    """Print the effective configuration from bastion.toml and BASTION_* variables."""
    view = redacted_view(settings_from(ctx))
    if as_json:
        console.print_json(json.dumps(view, sort_keys=True))
        return
    from rich.tree import Tree

    tree = Tree("[bold]bastion configuration[/bold]")

    def add(node: Tree, data: dict[str, object]) -> None:
        for key in sorted(data):
            value = data[key]
            if isinstance(value, dict):
                add(node.add(f"[cyan]{key}[/cyan]"), value)
            else:
                node.add(f"[cyan]{key}[/cyan] = {value!r}")

    add(tree, view)
    console.print(tree)

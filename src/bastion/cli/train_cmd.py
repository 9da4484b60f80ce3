"""``bastion train``: one audited, minimized, signed training run."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from bastion.cli.context import console, settings_from
from bastion.core.errors import ValidationError
from bastion.core.identity import principal_from_cli


def train_command(
    ctx: typer.Context,
    spec: Path = typer.Option(..., "--spec", help="Dataset spec YAML with a 'training' section."),
    purpose: str | None = typer.Option(
        None, "--purpose", help="Purpose whose columns the model may see (default: the spec's)."
    ),
    as_principal: str | None = typer.Option(
        None, "--as", help="Principal running the training (default $BASTION_PRINCIPAL)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the lineage record as JSON."),
) -> None:
    """Train the spec's model on minimized data; write a signed model and a lineage record."""
    principal = principal_from_cli(as_principal)
    if principal is None:
        raise ValidationError("name who is training with --as or BASTION_PRINCIPAL", field="--as")
    settings = settings_from(ctx)
    from bastion.pipeline import (
        load_spec,
        train,
        training_context_from_settings,
    )  # deferred: keeps `bastion --help` fast

    dataset = load_spec(spec)
    context = training_context_from_settings(settings)
    try:
        result = train(dataset, principal, context, purpose=purpose)
    finally:
        close = getattr(context.audit, "close", None)
        if callable(close):
            close()
    if as_json:
        console.print_json(json.dumps(result.lineage, sort_keys=True))
        return
    table = Table(title="training run", show_header=False)
    table.add_column("field", style="cyan")
    table.add_column("value", overflow="fold")
    record = result.lineage
    table.add_row("run id", result.run_id)
    table.add_row("principal", record["principal"])
    table.add_row("dataset", f"{record['dataset']['name']} ({record['dataset']['purpose']})")
    table.add_row("rows", str(record["dataset"]["row_count"]))
    table.add_row("columns", ", ".join(record["dataset"]["columns"]))
    table.add_row("fingerprint", record["dataset"]["fingerprint"])
    for name, value in result.metrics.items():
        table.add_row(name, f"{value:.3f}" if isinstance(value, float) else str(value))
    table.add_row("model", str(result.bundle.model_path))
    table.add_row("model sha256", result.bundle.model_sha256)
    table.add_row("signed by", result.bundle.key_id)
    table.add_row("lineage", str(result.lineage_path))
    console.print(table)

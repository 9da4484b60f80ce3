"""``bastion demo``: synthetic data for trying the pipeline safely."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from bastion.cli.context import console

app = typer.Typer(help="Generate synthetic demo data.", no_args_is_help=True)


@app.command("data")
def data(
    out: Path = typer.Option(..., "--out", help="Directory to write into (created if missing)."),
    rows: int = typer.Option(2000, "--rows", min=1, max=10_000_000, help="Number of patients."),
    seed: int = typer.Option(42, "--seed", min=0, help="Seed: same seed, same bytes."),
) -> None:
    """Write a synthetic patient table, its dataset spec and an example access policy."""
    from bastion.pipeline import write_demo  # deferred: keeps `bastion --help` fast

    files = write_demo(out, rows=rows, seed=seed)
    table = Table(title=f"demo data ({rows} patients, seed {seed})", show_header=False)
    table.add_column("file", style="cyan")
    table.add_column("path")
    table.add_row("patients", str(files.data))
    table.add_row("dataset spec", str(files.spec))
    table.add_row("access policy", str(files.policy))
    console.print(table)

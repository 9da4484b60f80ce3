"""``bastion privacy deid``: de-identify the text columns of a CSV or Parquet file."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bastion.cli.context import console, err_console, settings_from
from bastion.core.errors import ConfigError
from bastion.privacy.batch import DEFAULT_ENGINE, DeidJob, deidentify_file
from bastion.privacy.transform.policy import OperatorPolicy, load_policy


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def deid(
    ctx: typer.Context,
    source: Path = typer.Argument(..., help="Input .csv or .parquet file."),
    target: Path = typer.Argument(..., help="Output file of the same format."),
    text_columns: str = typer.Option(
        ..., "--text-columns", help="Comma-separated free-text columns to de-identify."
    ),
    policy_file: Path | None = typer.Option(
        None, "--policy", help="Operator policy YAML (default: replace every value by <TYPE_n>)."
    ),
    key_from: str = typer.Option(
        "secrets",
        "--key-from",
        help="Where the pseudonymization key comes from: 'secrets' (bastion keys) or 'none'.",
    ),
    person_column: str | None = typer.Option(
        None, "--person-column", help="Column identifying the person, for per-person date shifts."
    ),
    drop_columns: str | None = typer.Option(
        None, "--drop-columns", help="Comma-separated columns to leave out of the output."
    ),
    scheduler: str = typer.Option(
        "local", "--scheduler", help="'local' (processes) or a Dask scheduler tcp://HOST:PORT."
    ),
    workers: int = typer.Option(
        os.cpu_count() or 1, "--workers", min=1, help="Local worker processes."
    ),
    chunk_rows: int = typer.Option(2000, "--chunk-rows", min=1, help="Rows per chunk."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
    engine: str = typer.Option(
        DEFAULT_ENGINE,
        "--engine",
        help="Detection engine factory 'module:function', importable on every worker.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """De-identify free-text columns in constant memory; output is written atomically.

    Detection runs on every cell of the text columns and each value is replaced
    according to the policy.  Other columns are copied unchanged unless dropped.
    The output is identical whatever the scheduler and worker count.
    """
    policy = load_policy(policy_file) if policy_file is not None else OperatorPolicy()
    key: bytes | None = None
    if key_from == "secrets":
        if policy.needs_key:
            from bastion.secrets import keyring_from_settings

            key = keyring_from_settings(settings_from(ctx)).pseudonymization_key()
    elif key_from != "none":
        raise ConfigError("--key-from must be 'secrets' or 'none'")
    job = DeidJob(
        text_columns=_split(text_columns),
        policy=policy,
        key=key,
        person_column=person_column,
        drop_columns=_split(drop_columns),
        engine=engine,
    )
    columns = [
        TextColumn("[bold]deid[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn() if source.suffix.lower() in {".parquet", ".pq"} else TextColumn(""),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err_console, disable=quiet, transient=False) as bar:
        task = bar.add_task(source.name, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = deidentify_file(
            source,
            target,
            job,
            scheduler=scheduler,
            workers=workers,
            chunk_rows=chunk_rows,
            overwrite=overwrite,
            progress=advance,
        )
    console.print(
        f"wrote [bold]{result.output}[/bold]: {result.rows} rows in {result.chunks} chunks, "
        f"{result.bytes_in} → {result.bytes_out} bytes"
    )

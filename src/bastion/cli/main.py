"""Entry point of the ``bastion`` command: global options, command groups, error mapping."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.text import Text

from bastion import __version__
from bastion.cli import (
    access_cmd,
    audit_cmd,
    config_cmd,
    demo_cmd,
    guard_cmd,
    incident_cmd,
    keys_cmd,
    model_cmd,
    monitor_cmd,
    privacy_cmd,
    risk_cmd,
    serve_cmd,
    train_cmd,
)
from bastion.cli.context import err_console
from bastion.core.errors import BastionError

app = typer.Typer(
    name="bastion",
    help="Bastion: security and compliance for machine-learning systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(guard_cmd.app, name="guard")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(access_cmd.app, name="access")
app.add_typer(audit_cmd.app, name="audit")
app.command("train")(train_cmd.train_command)
app.add_typer(model_cmd.app, name="model")
app.add_typer(demo_cmd.app, name="demo")
app.add_typer(privacy_cmd.app, name="privacy")
app.add_typer(risk_cmd.app, name="risk")
app.add_typer(serve_cmd.app, name="serve")
app.add_typer(serve_cmd.scan_app, name="scan")
app.add_typer(monitor_cmd.app, name="monitor")
app.add_typer(incident_cmd.app, name="incident")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bastion {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Settings file (default ./bastion.toml or $BASTION_CONFIG)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Bastion: security and compliance for machine-learning systems."""
    ctx.obj = {"config_path": config}


def run() -> None:
    """Console-script entry: run the app and turn expected errors into one line and an exit code."""
    try:
        app()  # click handles its own usage errors (exit 2) and calls sys.exit
    except BastionError as exc:
        err_console.print(Text("error: ", style="red") + Text(str(exc)), soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)

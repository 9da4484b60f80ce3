"""``bastion guard``: scan text with the guard chain, print the default policy, check a policy."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from bastion.cli.context import console
from bastion.core.errors import EXIT_FINDINGS, ConfigError, ValidationError
from bastion.guards import ChainVerdict, ScanContext, default_policy_text, load_chain

app = typer.Typer(
    help="Guardrails: scan prompts and responses with a guard chain.", no_args_is_help=True
)

_STYLE = {"allow": "green", "flag": "yellow", "redact": "cyan", "block": "red"}


def _read_source(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    path = Path(source)
    try:
        if path.is_file():
            return path.read_bytes()
    except OSError as exc:  # e.g. a very long text mistaken for a path
        if len(source) < 256:
            raise ConfigError(f"{source}: cannot read ({exc.strerror})") from None
    return source.encode("utf-8", errors="surrogateescape")


def _parse_fields(pairs: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValidationError("expected NAME=VALUE", field="--field")
        fields[name] = value
    return fields


def _print(verdict: ChainVerdict) -> None:
    decision = verdict.action.value
    console.print(f"[bold {_STYLE[decision]}]{decision}[/]  ({verdict.direction})")
    table = Table(show_header=True, header_style="bold")
    for column in ("guard", "action", "reasons", "scores"):
        table.add_column(column, overflow="fold")
    for v in verdict.verdicts:
        scores = ", ".join(f"{k}={s:.3g}" for k, s in v.scores.items())
        table.add_row(
            v.guard, f"[{_STYLE[v.action.value]}]{v.action.value}[/]", "\n".join(v.reasons), scores
        )
    console.print(table)
    if verdict.allowed and verdict.modified:
        console.print("[bold]text after guards:[/]")
        console.print(verdict.text, markup=False, highlight=False)


@app.command("scan")
def scan(
    source: str = typer.Argument(..., help="Text to scan, a file path, or '-' for stdin."),
    direction: str = typer.Option(
        "input", "--direction", "-d", help="input (prompt) or output (response)."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", "-p", help="Guard policy YAML (default: bundled)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
    structured: bool = typer.Option(
        False, "--structured", help="Treat the text as a structured field (SQL/shell checks)."
    ),
    field: list[str] = typer.Option(
        [], "--field", help="Structured field NAME=VALUE (repeatable)."
    ),
    canary: list[str] = typer.Option(
        [], "--canary", help="Canary token that must not appear in output (repeatable)."
    ),
    system_prompt: Path | None = typer.Option(
        None, "--system-prompt", help="File with the system prompt (leakage check)."
    ),
    schema: Path | None = typer.Option(
        None, "--schema", help="JSON Schema file the output must match."
    ),
) -> None:
    """Scan TEXT or FILE; exit 0 when allowed (possibly redacted), 1 when blocked."""
    if direction not in ("input", "output"):
        raise ValidationError("must be 'input' or 'output'", field="--direction")
    chain = load_chain(policy)
    context = ScanContext(
        direction="input" if direction == "input" else "output",
        fields=_parse_fields(field),
        structured=structured,
        system_prompt=system_prompt.read_text(encoding="utf-8") if system_prompt else None,
        canaries=tuple(canary),
        json_schema=_load_schema(schema) if schema else None,
    )
    data = _read_source(source)
    verdict = (
        chain.scan_input_bytes(data, context)
        if context.direction == "input"
        else chain.scan_output_bytes(data, context)
    )
    if as_json:
        typer.echo(json.dumps(verdict.to_dict(), ensure_ascii=False, sort_keys=True))
    else:
        _print(verdict)
    if verdict.blocked:
        raise typer.Exit(EXIT_FINDINGS)


def _load_schema(path: Path) -> dict[str, object]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read JSON schema ({exc})", file=str(path)) from None
    if not isinstance(value, dict):
        raise ValidationError("a JSON schema must be an object", file=str(path))
    return value


@app.command("policy")
def show_policy() -> None:
    """Print the bundled default policy (a starting point for your own)."""
    typer.echo(default_policy_text(), nl=False)


@app.command("check")
def check_policy(policy: Path = typer.Argument(..., help="Guard policy YAML to validate.")) -> None:
    """Validate a policy file and list its chains; errors name file, line and field."""
    chain = load_chain(policy)
    for title, guards in (("input", chain.input_guards), ("output", chain.output_guards)):
        names = ", ".join(f"{g.name}({g.action.value})" for g in guards) or "(none)"
        console.print(f"[bold]{title}[/]: {names}", highlight=False)

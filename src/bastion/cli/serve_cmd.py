"""``bastion serve`` (the gateway) and ``bastion scan deps`` (supply-chain gate)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from bastion.cli.context import console, settings_from
from bastion.core.errors import EXIT_FINDINGS

app = typer.Typer(help="Run the secure model-serving gateway.")
scan_app = typer.Typer(help="Scan the supply chain.", no_args_is_help=True)


@app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Listen address (serving.host)."),
    port: int | None = typer.Option(None, "--port", help="Listen port (serving.port)."),
    workers: int | None = typer.Option(None, "--workers", help="Worker processes."),
    demo_key: bool = typer.Option(
        False, "--demo-key", help="Create or reuse a demo API key and print a curl example first."
    ),
) -> None:
    """Start the gateway (use the global --config for a settings file)."""
    from bastion.serving import demo_bootstrap
    from bastion.serving import serve as run_server

    settings = settings_from(ctx)
    updates = {
        name: value
        for name, value in (("host", host), ("port", port), ("workers", workers))
        if value is not None
    }
    if updates:
        serving = settings.serving.model_validate({**settings.serving.model_dump(), **updates})
        settings = settings.model_copy(update={"serving": serving})
    if demo_key:
        key, curl = demo_bootstrap(settings)
        console.print(f"demo API key (scopes predict, guard): {key}", soft_wrap=True)
        console.print(curl, soft_wrap=True, markup=False)
    run_server(settings)


@scan_app.command("deps")
def scan_deps(
    fail_on: str = typer.Option("high", "--fail-on", help="low, medium, high or critical."),
    unknown_as: str = typer.Option(
        "high", "--unknown-as", help="Severity for unrated findings (pip-audit rates none)."
    ),
    ignore: list[str] = typer.Option([], "--ignore", help="Vulnerability id to accept."),
    image: str | None = typer.Option(None, "--image", help="Also run `trivy image` on this."),
    pip_audit_json: Path | None = typer.Option(
        None, "--pip-audit-json", help="Use a recorded pip-audit JSON instead of running it."
    ),
    trivy_json: Path | None = typer.Option(
        None, "--trivy-json", help="Use a recorded trivy JSON instead of running it."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Vulnerable dependencies (pip-audit; trivy when present); exit 1 at or above --fail-on."""
    from bastion.serving import depscan

    findings = []
    if pip_audit_json is not None:
        findings += depscan.parse_pip_audit(pip_audit_json.read_text("utf-8"), str(pip_audit_json))
    else:
        findings += depscan.parse_pip_audit(depscan.run_pip_audit())
    if trivy_json is not None:
        findings += depscan.parse_trivy(trivy_json.read_text("utf-8"), str(trivy_json))
    elif image is not None and depscan.trivy_available():
        findings += depscan.parse_trivy(depscan.run_trivy(image))
    blocking = depscan.gate(findings, fail_on, unknown_as=unknown_as, ignore=ignore)
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "findings": [f.to_dict() for f in findings],
                    "blocking": [f.to_dict() for f in blocking],
                    "fail_on": fail_on,
                }
            )
        )
    else:
        table = Table(title=f"{len(findings)} vulnerable package(s), {len(blocking)} blocking")
        for column in ("tool", "package", "version", "vulnerability", "severity", "fixed in"):
            table.add_column(column)
        for finding in findings:
            style = "red" if finding in blocking else "dim"
            table.add_row(
                finding.tool,
                finding.package,
                finding.version,
                finding.vulnerability,
                f"[{style}]{finding.severity}[/{style}]",
                ", ".join(finding.fixed_in) or "-",
            )
        console.print(table)
    if blocking:
        raise typer.Exit(EXIT_FINDINGS)

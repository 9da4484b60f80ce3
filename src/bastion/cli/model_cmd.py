"""``bastion model``: verify signed models, scan legacy pickle files, publish the signer key."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from bastion.cli.context import console, err_console, settings_from
from bastion.core.crypto import public_pem
from bastion.core.errors import EXIT_FINDINGS, NotFoundError

app = typer.Typer(
    help="Verify signed models, scan pickle/joblib files without running them.",
    no_args_is_help=True,
)

_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "info": "dim"}


@app.command("verify")
def verify(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Model bundle directory or its model.skops file."),
    trusted_keys: Path | None = typer.Option(
        None, "--trusted-keys", help="Extra directory of trusted signer public keys (*.pem)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check signature, digests, lineage binding and types; exit 1 if anything is wrong."""
    settings = settings_from(ctx)
    from bastion.pipeline import trust_store_from_settings, verify_model  # deferred: fast --help
    from bastion.pipeline.wiring import allowed_types_from_settings

    trust = trust_store_from_settings(settings, extra_dir=trusted_keys)
    verified = verify_model(path, trust, allowed_types=allowed_types_from_settings(settings))
    run_id = (verified.lineage or {}).get("run_id")
    if as_json:
        body = {
            "ok": True,
            "path": str(verified.path),
            "model_sha256": verified.model_sha256,
            "key_id": verified.key_id,
            "algorithm": verified.algorithm,
            "run_id": run_id,
        }
        console.print_json(json.dumps(body, sort_keys=True))
        return
    console.print(
        Text(
            f"ok: {verified.path} sha256={verified.model_sha256[:16]}… signed by "
            f"{verified.key_id} ({verified.algorithm}), run {run_id}",
            style="green",
        ),
        soft_wrap=True,
    )


@app.command("scan")
def scan(
    path: Path = typer.Argument(..., help="Pickle, joblib, .npy or PyTorch (zip) file."),
    as_json: bool = typer.Option(False, "--json", help="Print findings as JSON."),
) -> None:
    """Inspect a pickle-based file opcode by opcode without executing it; exit 1 if dangerous."""
    if not path.is_file():
        raise NotFoundError(f"{path}: no such file")
    from bastion.pipeline.scan import scan_file  # deferred: fast --help

    report = scan_file(path)
    findings = report.sorted_findings()
    if as_json:
        body = {
            "path": report.path,
            "dangerous": report.dangerous,
            "pickles_scanned": report.pickles_scanned,
            "imports": sorted(set(report.imports)),
            "findings": [
                {
                    "severity": f.severity,
                    "kind": f.kind,
                    "detail": f.detail,
                    "location": f.location,
                    "offset": f.offset,
                }
                for f in findings
            ],
        }
        console.print_json(json.dumps(body, sort_keys=True))
    else:
        table = Table(title=f"scan of {path}")
        for column in ("severity", "kind", "detail", "where"):
            table.add_column(column)
        for f in findings:
            where = f.location + (f" @{f.offset}" if f.offset is not None else "")
            table.add_row(Text(f.severity, style=_STYLES[f.severity]), f.kind, f.detail, where)
        if findings:
            console.print(table)
        verdict = "DANGEROUS: do not load" if report.dangerous else "no dangerous imports found"
        style = "bold red" if report.dangerous else "green"
        (err_console if report.dangerous else console).print(
            Text(f"{verdict} ({report.pickles_scanned} pickle stream(s) scanned)", style=style)
        )
    if report.dangerous:
        raise typer.Exit(EXIT_FINDINGS)


@app.command("public-key")
def public_key(ctx: typer.Context) -> None:
    """Print the model-signing public key (PEM) for other machines' trusted-keys directory."""
    from bastion.secrets import keyring_from_settings

    key = keyring_from_settings(settings_from(ctx)).model_signing_key()
    typer.echo(public_pem(key).decode("ascii"), nl=False)

"""``bastion privacy``: detect and de-identify PII/PHI."""

from __future__ import annotations

import typer

from bastion.cli.privacy_deid import deid

app = typer.Typer(help="Detect and de-identify PII/PHI in text and tables.", no_args_is_help=True)
app.command("deid")(deid)

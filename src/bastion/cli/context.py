"""State shared by command groups: the loaded settings and the console."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from bastion.core.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def settings_from(ctx: typer.Context) -> Settings:
    """Load settings once per invocation, honouring the global ``--config`` option."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = {}
    cached = root.obj.get("settings")
    if cached is None:
        config: Path | None = root.obj.get("config_path")
        cached = load_settings(config)
        root.obj["settings"] = cached
    assert isinstance(cached, Settings)
    return cached

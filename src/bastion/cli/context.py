"""State shared by command groups: the loaded settings and the console."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from bastion.core.errors import BastionError

if TYPE_CHECKING:
    from bastion.audit import AuditLog
from bastion.core.identity import principal_from_cli
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


def operator_id() -> str:
    """Who runs an administrative command: ``BASTION_PRINCIPAL``, else the OS user.

    Asserted, not authenticated: the audit record says so by its ``user:`` prefix.
    """
    principal = principal_from_cli(None)
    if principal is not None:
        return principal.id
    name = os.environ.get("USER") or os.environ.get("USERNAME") or "operator"
    return "user:" + re.sub(r"[^A-Za-z0-9._@+-]", "_", name)[:120]


@contextmanager
def audited(
    ctx: typer.Context,
    action: str,
    resource: str,
    details: dict[str, Any] | None = None,
    *,
    open_first: bool = True,
) -> Iterator[dict[str, Any]]:
    """Record an administrative command in the audit log, success or failure.

    The log is opened first (unless ``open_first`` is False, for commands that
    create the log's own key), so an unavailable log stops the command before it
    changes anything.  The body may add details (never secrets) to the yielded dict.
    """
    from bastion.audit import open_audit_log

    settings = settings_from(ctx)
    recorded: dict[str, Any] = dict(details or {})
    log = open_audit_log(settings) if open_first else None

    def record(into: AuditLog, outcome: str) -> None:
        into.append(
            principal=operator_id(),
            action=action,
            resource=resource,
            outcome=outcome,
            details=recorded,
        )

    try:
        try:
            yield recorded
        except BastionError as exc:
            recorded["error"] = type(exc).__name__
            if log is None:
                try:
                    log = open_audit_log(settings)
                except BastionError:
                    raise exc from None  # no log to record in yet; the first error says why
            record(log, "failure")
            raise
        if log is None:
            log = open_audit_log(settings)
        record(log, "success")
    finally:
        if log is not None:
            log.close()

"""Hooks the monitor installs into the gateway: the client blocklist and model rollback.

``MonitorHooks`` sits just inside the gateway's own middleware, so a refused
client still gets the gateway's request id, security headers, metrics and
audit event (reason ``client-blocked``).  The blocklist is read from the
monitor store and cached for ``monitor.blocklist_refresh_seconds`` (0 reads
it on every request).  When the playbook points the served model at another
signed version, the next request loads and verifies it and swaps the adapter.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.core.settings import Settings
from bastion.monitor.playbook import served_pointer_path
from bastion.monitor.store import MonitorStore

log = logging.getLogger("bastion.monitor.gateway")
CLIENT_BLOCKED = "client-blocked"
_UNGUARDED = ("/healthz", "/readyz")


class BlocklistCache:
    """The blocked addresses, re-read at most every ``ttl`` seconds."""

    def __init__(self, load: Callable[[], frozenset[str]], ttl: float) -> None:
        self._load = load
        self._ttl = ttl
        self._lock = threading.Lock()
        self._addresses: frozenset[str] = frozenset()
        self._fetched = -float("inf")

    def fresh(self) -> bool:
        return self._ttl > 0 and time.monotonic() - self._fetched < self._ttl

    def contains(self, address: str) -> bool:
        """Fail closed: if the store cannot be read, the error propagates (503)."""
        if not self.fresh():
            with self._lock:
                if not self.fresh():
                    self._addresses = self._load()
                    self._fetched = time.monotonic()
        return address in self._addresses


class ServedModelWatcher:
    """Swaps the gateway's skops adapter when the served-model pointer changes."""

    def __init__(self, settings: Settings, gateway: Any) -> None:
        self.settings = settings
        self.gateway = gateway
        self.path = served_pointer_path(settings)
        self._seen: int | None = None
        self._lock = threading.Lock()

    def _stamp(self) -> int | None:
        if self.settings.serving.adapter != "skops":
            return None
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def changed(self) -> bool:
        """A cheap stat: has the pointer changed since the last swap?"""
        stamp = self._stamp()
        return stamp is not None and stamp != self._seen

    def check(self) -> None:
        """Swap the adapter if the pointer changed (verifies the model first)."""
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return
        with self._lock:
            if stamp == self._seen:
                return
            self._swap()
            self._seen = stamp

    def _swap(self) -> None:
        from pathlib import Path

        from bastion.pipeline import load_model
        from bastion.pipeline.wiring import allowed_types_from_settings, trust_store_from_settings
        from bastion.serving.adapters import SkopsAdapter

        data = json.loads(self.path.read_text(encoding="utf-8"))
        model = load_model(
            Path(str(data["path"])),
            trust_store_from_settings(self.settings),
            allowed_types=allowed_types_from_settings(self.settings),
        )
        self.gateway.adapter = SkopsAdapter(self.settings.serving.model_name, model)
        log.warning(
            "served model switched to %s (incident %s)", data["path"], data.get("incident_id")
        )


class MonitorHooks:
    """Pure ASGI middleware: refuse blocked clients, apply model rollbacks."""

    def __init__(
        self, app: ASGIApp, *, blocklist: BlocklistCache, watcher: ServedModelWatcher
    ) -> None:
        self.app = app
        self.blocklist = blocklist
        self.watcher = watcher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in _UNGUARDED:
            await self.app(scope, receive, send)
            return
        from bastion.serving.context import STATE_KEY, error_body

        ctx = scope.get("state", {}).get(STATE_KEY)
        client = getattr(ctx, "client", None) or str((scope.get("client") or ("unknown",))[0])
        if self.blocklist.fresh():
            blocked = self.blocklist.contains(client)
        else:
            blocked = await anyio.to_thread.run_sync(self.blocklist.contains, client)
        if blocked:
            request_id = getattr(ctx, "request_id", "-")
            if ctx is not None:
                ctx.add_reason(CLIENT_BLOCKED)
            body = json.dumps(
                error_body(403, CLIENT_BLOCKED, "this client address is blocked", request_id)
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if self.watcher.changed():
            await anyio.to_thread.run_sync(self.watcher.check)
        await self.app(scope, receive, send)


def install_hooks(app: Any, gateway: Any, store: MonitorStore) -> None:
    """Add :class:`MonitorHooks` to ``app`` (call before the gateway's own middleware)."""
    settings: Settings = gateway.settings
    app.add_middleware(
        MonitorHooks,
        blocklist=BlocklistCache(
            store.blocked_addresses, settings.monitor.blocklist_refresh_seconds
        ),
        watcher=ServedModelWatcher(settings, gateway),
    )

"""The outermost layer: request ids, body limits, content types, headers, metrics, audit.

A pure ASGI middleware, so it can count body bytes as they stream in (a chunked
upload is cut off at the limit, not after it was buffered) and so it sees every
response, including refusals and crashes, to emit exactly one audit event.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.audit import EventInput
from bastion.core.crypto import sha256_hex
from bastion.serving.auditwriter import AuditWriter
from bastion.serving.context import (
    STATE_KEY,
    RequestContext,
    error_body,
    request_id_from,
)
from bastion.serving.metrics import GatewayMetrics

log = logging.getLogger("bastion.serving.access")

BODY_TOO_LARGE = "body-too-large"
UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
INTERNAL_ERROR = "internal-error"

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    "https://fastapi.tiangolo.com; connect-src 'self'; frame-ancestors 'none'"
)
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_STATUS_REASONS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: BODY_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
    422: "invalid-request",
    429: "rate-limited",
}


_UNSAFE = re.compile(r"[^A-Za-z0-9/._~-]")


def _safe_path(path: str) -> str:
    """A client-supplied path reduced to harmless characters for logs and audit."""
    return _UNSAFE.sub("?", path[:200]) or "/"


@dataclass(frozen=True)
class MiddlewareConfig:
    """What the middleware enforces."""

    max_body_bytes: int
    json_paths: Collection[str]
    form_paths: Collection[str]
    unaudited_paths: Collection[str] = ("/healthz", "/readyz", "/metrics")
    docs_paths: Collection[str] = ("/docs", "/redoc")
    page_prefixes: Collection[str] = ("/dashboard",)  # server-rendered pages (PAGE_CSP)
    hsts: bool = False
    audit_raw_text: bool = False
    trusted_proxies: Collection[str] = field(default_factory=tuple)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def client_address(scope: Scope, trusted_proxies: Collection[str]) -> str:
    """The peer address, or the last ``X-Forwarded-For`` hop when the peer is a trusted proxy."""
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if peer in trusted_proxies:
        forwarded = _header(scope, b"x-forwarded-for")
        if forwarded:
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            for hop in reversed(hops):
                if hop not in trusted_proxies:
                    return hop[:64]
    return peer


class GatewayMiddleware:
    """See module docstring; one instance per app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        config: MiddlewareConfig,
        metrics: GatewayMetrics,
        writer: Callable[[], AuditWriter | None],
    ) -> None:
        self.app = app
        self.config = config
        self.metrics = metrics
        self.writer = writer
        # Security headers by CSP, built once (callers copy them, never mutate).
        self._header_sets: dict[str, list[tuple[bytes, bytes]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        ctx = RequestContext(
            request_id=request_id_from(_header(scope, b"x-request-id")),
            client=client_address(scope, self.config.trusted_proxies),
        )
        scope.setdefault("state", {})[STATE_KEY] = ctx
        path = str(scope.get("path", ""))
        status_holder = {"status": 500, "started": False}
        send_wrapped = self._wrap_send(send, ctx, path, status_holder)

        try:
            refusal = self._check_content_type(scope, path)
            if refusal is None:
                refusal = await self._read_body(scope, receive, ctx)
            if refusal is not None:
                status, code, message = refusal
                ctx.add_reason(code)
                await self._send_json(
                    send_wrapped, status, error_body(status, code, message, ctx.request_id)
                )
            else:
                await self.app(scope, self._replay(ctx.body, receive), send_wrapped)
        except Exception:
            log.exception("request %s failed", ctx.request_id)
            ctx.add_reason(INTERNAL_ERROR)
            if not status_holder["started"]:
                await self._send_json(
                    send_wrapped,
                    500,
                    error_body(
                        500, INTERNAL_ERROR, "internal error; quote the request id", ctx.request_id
                    ),
                )
        finally:
            self._finish(scope, ctx, path, int(status_holder["status"]), started)

    # Checks ----------------------------------------------------------------------
    def _check_content_type(self, scope: Scope, path: str) -> tuple[int, str, str] | None:
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            return None
        media = _media_type(_header(scope, b"content-type"))
        if path in self.config.json_paths and media != "application/json":
            return 415, UNSUPPORTED_MEDIA_TYPE, "send the body as application/json"
        if path in self.config.form_paths and media not in (
            "application/x-www-form-urlencoded",
            "application/json",
        ):
            return (
                415,
                UNSUPPORTED_MEDIA_TYPE,
                "send the body as application/x-www-form-urlencoded",
            )
        return None

    async def _read_body(
        self, scope: Scope, receive: Receive, ctx: RequestContext
    ) -> tuple[int, str, str] | None:
        limit = self.config.max_body_bytes
        too_large = (413, BODY_TOO_LARGE, f"request bodies are limited to {limit} bytes")
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    return too_large
            except ValueError:
                return 400, "bad-content-length", "Content-Length is not a number"
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE") and declared is None:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        ctx.body = b"".join(chunks)
        if ctx.body:
            ctx.input_digest = sha256_hex(ctx.body)
        return None

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    # Responses -------------------------------------------------------------------
    def _security_headers(self, path: str) -> list[tuple[bytes, bytes]]:
        csp = DOCS_CSP if path in self.config.docs_paths else API_CSP
        if any(path == p or path.startswith(p + "/") for p in self.config.page_prefixes):
            csp = PAGE_CSP
        headers = self._header_sets.get(csp)
        if headers is None:
            headers = self._header_sets[csp] = self._build_security_headers(csp)
        return headers

    def _build_security_headers(self, csp: str) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", csp.encode()),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"cache-control", b"no-store"),
        ]
        if self.config.hsts:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        return headers

    def _wrap_send(
        self, send: Send, ctx: RequestContext, path: str, holder: dict[str, Any]
    ) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                holder["status"] = int(message["status"])
                holder["started"] = True
                own = {b"server", b"x-request-id", b"cache-control"}
                extra = {k.lower().encode(): v.encode() for k, v in ctx.headers.items()}
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in own and k.lower() not in extra
                ]
                headers.extend(self._security_headers(path))
                headers.append((b"x-request-id", ctx.request_id.encode()))
                headers.extend(extra.items())
                message = {**message, "headers": headers}
            await send(message)

        return wrapped

    @staticmethod
    async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    # Accounting ------------------------------------------------------------------
    def _finish(
        self, scope: Scope, ctx: RequestContext, path: str, status: int, started: float
    ) -> None:
        elapsed = time.perf_counter() - started
        route_obj = scope.get("route")
        route = str(getattr(route_obj, "path", "")) or _safe_path(path)
        if status >= 400 and not ctx.reasons:
            ctx.add_reason(_STATUS_REASONS.get(status, f"http-{status}"))
        method = str(scope.get("method", ""))
        self.metrics.observe(route, method, status, elapsed, ctx.reasons if status >= 400 else [])
        log.info(
            "request_id=%s method=%s route=%s status=%d principal=%s ms=%.2f reasons=%s",
            ctx.request_id,
            method,
            route,
            status,
            ctx.principal,
            elapsed * 1000,
            ",".join(ctx.reasons) or "-",
        )
        if path in self.config.unaudited_paths:
            return
        writer = self.writer()
        if writer is None:
            return
        # 503 is a refusal by policy (fail closed); other 5xx are failures.
        outcome = "allow" if status < 400 else ("error" if status in (500, 502, 504) else "deny")
        details: dict[str, Any] = {
            "event": "gateway-request",
            "request_id": ctx.request_id,
            "method": method,
            "status": status,
            "reasons": list(ctx.reasons),
            "input_sha256": ctx.input_digest,
            "input_bytes": len(ctx.body),
            "latency_ms": round(elapsed * 1000, 3),
            "client": ctx.client,
            "authenticated_by": ctx.authenticated_by,
        }
        if ctx.field:
            details["field"] = ctx.field
        details.update(ctx.details)
        if self.config.audit_raw_text and ctx.body:
            details["raw_text"] = ctx.body[:16_384].decode("utf-8", errors="replace")
        try:
            writer.submit(
                EventInput(
                    principal=ctx.principal,
                    action="gateway:request",
                    resource=f"route:{method} {route}"[:1024],
                    outcome=outcome,
                    details=details,
                )
            )
        except Exception:
            self.metrics.audit_backlog_errors.inc()
            log.exception("could not queue the audit event of request %s", ctx.request_id)

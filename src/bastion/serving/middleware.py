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
from collections.abc import Callable, Collection, Iterable
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


class GatewayCore:
    """What every response shares, whichever path served it: headers, metrics, audit.

    Used by :class:`GatewayMiddleware` and by the predict fast lane, so both send
    the same headers and record the same metrics, log line and audit event.
    """

    def __init__(
        self,
        config: MiddlewareConfig,
        metrics: GatewayMetrics,
        writer: Callable[[], AuditWriter | None],
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.writer = writer
        # Security headers by CSP, built once (callers copy them, never mutate).
        self._header_sets: dict[str, list[tuple[bytes, bytes]]] = {}

    def security_headers(self, path: str) -> list[tuple[bytes, bytes]]:
        """The security headers of a response to ``path`` (shared list: do not mutate)."""
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

    def response_headers(
        self, raw: Iterable[tuple[bytes, bytes]], path: str, ctx: RequestContext
    ) -> list[tuple[bytes, bytes]]:
        """The app's headers less the ones the gateway owns, then the gateway's own."""
        own = {b"server", b"x-request-id", b"cache-control"}
        extra = {k.lower().encode(): v.encode() for k, v in ctx.headers.items()}
        headers = [(k, v) for k, v in raw if k.lower() not in own and k.lower() not in extra]
        headers.extend(self.security_headers(path))
        headers.append((b"x-request-id", ctx.request_id.encode()))
        headers.extend(extra.items())
        return headers

    def wrap_send(self, send: Send, ctx: RequestContext, path: str, holder: list[Any]) -> Send:
        """``send`` with the gateway's headers; ``holder`` gets [status, started]."""

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                holder[0] = int(message["status"])
                holder[1] = True
                headers = self.response_headers(message.get("headers", []), path, ctx)
                message = {**message, "headers": headers}
            await send(message)

        return wrapped

    @staticmethod
    async def send_json(send: Send, status: int, body: dict[str, Any]) -> None:
        """A JSON response the middleware itself renders (refusals before the app)."""
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

    def finish(
        self, ctx: RequestContext, method: str, route: str, path: str, status: int, elapsed: float
    ) -> None:
        """Metrics, the access log line and the request's one audit event."""
        if status >= 400 and not ctx.reasons:
            ctx.add_reason(_STATUS_REASONS.get(status, f"http-{status}"))
        self.metrics.observe(route, method, status, elapsed, ctx.reasons if status >= 400 else [])
        if log.isEnabledFor(logging.INFO):
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


class GatewayMiddleware:
    """See module docstring; one instance per app."""

    def __init__(self, app: ASGIApp, *, core: GatewayCore) -> None:
        self.app = app
        self.core = core
        self.config = core.config

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
        holder: list[Any] = [500, False]  # status, response started
        send_wrapped = self.core.wrap_send(send, ctx, path, holder)

        try:
            refusal = self._check_content_type(scope, path)
            if refusal is None:
                refusal = await self._read_body(scope, receive, ctx)
            if refusal is not None:
                status, code, message = refusal
                ctx.add_reason(code)
                await self.core.send_json(
                    send_wrapped, status, error_body(status, code, message, ctx.request_id)
                )
            else:
                await self.app(scope, replay(ctx.body, receive), send_wrapped)
        except Exception:
            log.exception("request %s failed", ctx.request_id)
            ctx.add_reason(INTERNAL_ERROR)
            if not holder[1]:
                await self.core.send_json(
                    send_wrapped,
                    500,
                    error_body(
                        500, INTERNAL_ERROR, "internal error; quote the request id", ctx.request_id
                    ),
                )
        finally:
            route_obj = scope.get("route")
            route = str(getattr(route_obj, "path", "")) or _safe_path(path)
            elapsed = time.perf_counter() - started
            method = str(scope.get("method", ""))
            self.core.finish(ctx, method, route, path, int(holder[0]), elapsed)

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


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that first yields ``body`` (already read) as one message, then defers."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed

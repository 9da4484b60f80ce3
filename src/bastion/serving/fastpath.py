"""Two direct paths for well-formed ``POST /v1/predict`` requests.

:class:`PredictLane` sits in front of the whole app (before FastAPI's own
layers and every middleware) and serves, in one pure-ASGI function, a predict
request that will be *admitted*: a JSON body within limits that validates as
:class:`PredictRequest` with items and texts within limits, an API key that
verifies (the same per-request revision check) and grants ``predict``, a
client not on the monitor's blocklist, and room in every rate-limit window of
the in-process store.  Every one of those checks is free of side effects
except the last, which records its hits only when all windows admit (one
step, no await: atomic on the event loop).  Anything else — every refusal, a
bearer token, a Redis rate-limit store, CORS, an unknown middleware — is handed
to the full stack untouched (the body, if read, is replayed), which decides and
words the answer exactly as before.  Once admitted, the lane runs the route's
own handler code and sends the response with the gateway's headers, metrics
and audit event (:class:`GatewayCore`); errors raised by the handler (guard
refusals, upstream failures) are rendered by the app's own exception handlers.

:class:`FastPredictMiddleware` is the inner path for requests the lane hands
on: inside the gateway middleware (which buffered the body), a body that
validates skips FastAPI's routing and dependency solving but runs the same
gate, handler and exception handlers.  Every other request takes the route,
so validation errors, the OpenAPI document and all error bodies stay identical.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core.crypto import sha256_hex
from bastion.core.identity import Principal
from bastion.serving.apikeys import SCOPE_ACTIONS
from bastion.serving.context import STATE_KEY, RequestContext, error_body, request_id_from
from bastion.serving.middleware import (
    INTERNAL_ERROR,
    GatewayCore,
    GatewayMiddleware,
    client_address,
)
from bastion.serving.schemas import PredictRequest

PREDICT_PATH = "/v1/predict"
PREDICT_ACTION = "predict"
Handler = Callable[[Request, Any], Awaitable[Response]]
RunPredict = Callable[[PredictRequest, RequestContext], Awaitable[bytes]]

log = logging.getLogger("bastion.serving.access")
_JSON = b"application/json"
_WANTED = frozenset(
    (b"content-type", b"content-length", b"x-api-key", b"authorization", b"x-request-id")
)


@dataclass(frozen=True)
class FastPredict:
    """The predict route's gate and body, shared with the FastAPI route."""

    gate: Callable[[Request], Awaitable[Principal]]
    run: RunPredict


class FastPredictMiddleware:
    """Pure ASGI; sits inside the gateway middleware (which buffered the body)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        fast: FastPredict,
        route: Any,
        handlers: Sequence[tuple[type[Exception], Handler]],
    ) -> None:
        self.app = app
        self.fast = fast
        self.route = route
        self.handlers = tuple(handlers)
        self.handled = tuple(kind for kind, _ in handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PREDICT_PATH and scope["method"] == "POST":
            ctx = scope.get("state", {}).get(STATE_KEY)
            if isinstance(ctx, RequestContext) and ctx.body:
                try:
                    body = PredictRequest.model_validate_json(ctx.body)
                except ValidationError:
                    body = None  # the route renders the exact validation error
                if body is not None:
                    await self._predict(body, ctx, scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _predict(
        self, body: PredictRequest, ctx: RequestContext, scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope["route"] = self.route
        request = Request(scope, receive)
        response: Response
        try:
            await self.fast.gate(request)
            response = Response(await self.fast.run(body, ctx), media_type="application/json")
        except self.handled as exc:
            response = await self._handler(exc)(request, exc)
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler:
        for kind, handler in self.handlers:
            if isinstance(exc, kind):
                return handler
        raise exc


def _handler_for(handlers: Sequence[tuple[type[Exception], Handler]], exc: Exception) -> Handler:
    for kind, handler in handlers:
        if isinstance(exc, kind):
            return handler
    raise exc


@dataclass(frozen=True)
class _Plan:
    """What the lane learnt about the app once its middleware stack was fixed."""

    enabled: bool
    blocklist: Any = None  # the monitor's BlocklistCache, if installed
    watcher: Any = None  # the monitor's ServedModelWatcher, if installed
    cors: bool = False


class PredictLane:
    """See module docstring; one instance per app, called by ``GatewayApp``."""

    def __init__(
        self,
        *,
        gateway: Any,
        core: GatewayCore,
        run: RunPredict,
        handlers: Sequence[tuple[type[Exception], Handler]],
    ) -> None:
        self.gateway = gateway
        self.core = core
        self.run = run
        self.handlers = tuple(handlers)
        self.handled = tuple(kind for kind, _ in handlers)
        self.enabled = True
        self.served = 0  # requests the lane answered itself (admitted ones)
        self._plan: _Plan | None = None
        self._limiter: Any = None  # the limiter admits_synchronously was checked for
        self._limiter_ok = False
        serving = gateway.settings.serving
        self.max_body = core.config.max_body_bytes
        self.max_items = serving.max_batch_items
        self.max_chars = serving.max_text_chars
        self.trusted = tuple(core.config.trusted_proxies)
        self.security = [(b"content-type", _JSON), *core.security_headers(PREDICT_PATH)]

    def plan(self, user_middleware: Sequence[Any], telemetry: Any) -> _Plan:
        """Decide once whether the lane may serve this app (known middleware only)."""
        blocklist = watcher = None
        cors = False
        for middleware in user_middleware:
            cls, kwargs = middleware.cls, middleware.kwargs
            if cls in (GatewayMiddleware, FastPredictMiddleware):
                continue
            if getattr(cls, "__name__", "") == "CORSMiddleware":
                cors = True
            elif "blocklist" in kwargs and "watcher" in kwargs:
                blocklist, watcher = kwargs["blocklist"], kwargs["watcher"]
            else:
                log.warning("predict fast lane off: unknown middleware %r", cls)
                return _Plan(False)
        if telemetry is not None and telemetry.enabled():
            log.info("predict fast lane off: FastAPI telemetry is configured")
            return _Plan(False)
        return _Plan(True, blocklist, watcher, cors)

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        stack: ASGIApp,
        plan: Callable[[], _Plan],
    ) -> None:
        """Serve an admitted predict request, or hand it to ``stack`` unchanged."""
        settled = self._plan
        if settled is None:
            settled = self._plan = plan()
        if not (self.enabled and settled.enabled):
            await stack(scope, receive, send)
            return
        started = time.perf_counter()
        consumed: list[Message] = []  # body messages read so far, replayed on a hand-over
        try:
            admitted = await self._admit(scope, receive, settled, consumed)
        except Exception:  # anything unexpected: the stack answers (and audits) it
            log.debug("predict fast lane handed a request on after an error", exc_info=True)
            admitted = None
        if admitted is None:
            await stack(scope, _replay(consumed, receive) if consumed else receive, send)
            return
        request, ctx, rate_headers = admitted
        self.served += 1
        status = 500
        try:
            status = await self._respond(request, ctx, rate_headers, scope, receive, send)
        finally:
            self.core.finish(
                ctx, "POST", PREDICT_PATH, PREDICT_PATH, status, time.perf_counter() - started
            )

    async def _admit(
        self, scope: Scope, receive: Receive, settled: _Plan, consumed: list[Message]
    ) -> tuple[PredictRequest, RequestContext, list[tuple[bytes, bytes]]] | None:
        """Every check of the full stack, without side effects until the last; None: hand on."""
        # Headers: one pass; anything unusual (a repeated header, CORS) goes the long way.
        found: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in _WANTED:
                if name in found:
                    return None
                found[name] = value
            elif name == b"origin" and settled.cors:
                return None
        key = self._api_key(found)
        length = found.get(b"content-length")
        content_type = found.get(b"content-type")
        if (
            key is None
            or length is None
            or not length.isdigit()
            or not 0 < int(length) <= self.max_body
            or (content_type != _JSON and _media(content_type) != "application/json")
        ):
            return None
        client = client_address(scope, self.trusted) if self.trusted else _peer(scope)
        blocklist, watcher = settled.blocklist, settled.watcher
        if blocklist is not None:
            if blocklist.fresh():
                blocked = blocklist.contains(client)
            else:  # re-read off the event loop, as the monitor's own hook does
                blocked = await anyio.to_thread.run_sync(blocklist.contains, client)
            if blocked:
                return None
        if watcher is not None and watcher.changed():
            return None  # the monitor's hook swaps the model first
        gw = self.gateway
        limiter = gw.limiter
        if limiter is not self._limiter:
            self._limiter, self._limiter_ok = limiter, limiter.admits_synchronously
        if not self._limiter_ok:
            return None
        keys = gw.keys
        if keys.reads_are_local:
            check = keys.verify(key)
        else:
            check = await anyio.to_thread.run_sync(keys.verify, key)
        record = check.record
        if record is None or not any(
            SCOPE_ACTIONS.get(scope_name) == PREDICT_ACTION for scope_name in record.scopes
        ):
            return None
        # Body: read it all; anything but exactly Content-Length bytes goes the long way.
        body = await self._read(receive, int(length), consumed)
        if body is None:
            return None
        try:
            request = PredictRequest.model_validate_json(body)
        except ValidationError:
            return None
        if not self._within_limits(request):
            return None
        principal = record.principal_id
        rate_headers = limiter.admit_now(client, principal, len(body), time.time())
        if rate_headers is None:  # a window is full: the stack refuses (nothing recorded)
            return None
        # Admitted: from here on this request is served (and audited) by the lane.
        ctx = RequestContext(
            request_id=request_id_from(_latin1(found.get(b"x-request-id"))),
            client=client,
            body=body,
            input_digest=sha256_hex(body),
            principal=principal,
            authenticated_by="api-key",
        )
        return request, ctx, rate_headers

    async def _respond(
        self,
        request: PredictRequest,
        ctx: RequestContext,
        rate_headers: list[tuple[bytes, bytes]],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> int:
        """Run the handler and send its answer; returns the status sent."""
        holder: list[Any] = [500, False]
        try:
            try:
                payload = await self.run(request, ctx)
            except self.handled as exc:
                # Rare: the route's own exception handler words it, the core adds headers.
                ctx.headers = _as_dict(rate_headers)
                scope.setdefault("state", {})[STATE_KEY] = ctx
                response = await _handler_for(self.handlers, exc)(Request(scope, receive), exc)
                await response(scope, receive, self.core.wrap_send(send, ctx, PREDICT_PATH, holder))
                return int(holder[0])
            headers = [
                (b"content-length", str(len(payload)).encode()),
                *self.security,
                (b"x-request-id", ctx.request_id.encode()),
                *rate_headers,
            ]
            holder[0], holder[1] = 200, True
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return 200
        except Exception:
            log.exception("request %s failed", ctx.request_id)
            ctx.add_reason(INTERNAL_ERROR)
            if not holder[1]:
                ctx.headers = _as_dict(rate_headers)
                await self.core.send_json(
                    self.core.wrap_send(send, ctx, PREDICT_PATH, holder),
                    500,
                    error_body(
                        500, INTERNAL_ERROR, "internal error; quote the request id", ctx.request_id
                    ),
                )
            return int(holder[0]) if holder[1] else 500

    @staticmethod
    def _api_key(found: dict[bytes, bytes]) -> str | None:
        """The presented API key, as the authenticator would read it; None for anything else."""
        authorization = found.get(b"authorization")
        if authorization is not None:
            scheme, _, credential = authorization.decode("latin-1").partition(" ")
            credential = credential.strip()
            if scheme.lower() == "bearer" and credential.startswith("bsk_"):
                return credential
            return None
        api_key = found.get(b"x-api-key")
        if api_key:
            return api_key.decode("latin-1").strip()
        return None

    @staticmethod
    async def _read(receive: Receive, length: int, consumed: list[Message]) -> bytes | None:
        """The body if it is exactly ``length`` bytes; every message read goes to ``consumed``."""
        message = await receive()
        consumed.append(message)
        if message["type"] == "http.request" and not message.get("more_body", False):
            body = message.get("body", b"")
            return body if len(body) == length else None
        size = 0
        while message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > length or not message.get("more_body", False):
                break
            message = await receive()
            consumed.append(message)
        complete = (
            size == length
            and message["type"] == "http.request"
            and not message.get("more_body", False)
        )
        if not complete:
            return None
        return b"".join(m.get("body", b"") for m in consumed)

    def _within_limits(self, request: PredictRequest) -> bool:
        inputs = request.inputs
        if inputs is not None:
            max_chars = self.max_chars
            return len(inputs) <= self.max_items and all(len(text) <= max_chars for text in inputs)
        return request.instances is not None and len(request.instances) <= self.max_items


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that yields ``messages`` (already read) again, then defers to ``receive``."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _as_dict(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in headers}


def _latin1(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _media(value: bytes | None) -> str:
    return (value or b"").decode("latin-1").split(";", 1)[0].strip().lower()


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"

"""A direct path for well-formed ``POST /v1/predict`` requests.

FastAPI's routing, dependency solving and request/response wrappers cost about
as much CPU per request as the VADER model itself.  This innermost middleware
takes a predict request whose buffered body already validates as
:class:`PredictRequest` and runs the very same gate (address limit,
authentication, scope, principal limit) and the very same handler code, then
renders refusals with the very same exception handlers.  Every other request —
and every body that does not validate — goes to the FastAPI route unchanged, so
validation errors, the OpenAPI document and all error bodies stay identical.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.core.identity import Principal
from bastion.serving.context import STATE_KEY, RequestContext
from bastion.serving.schemas import PredictRequest

PREDICT_PATH = "/v1/predict"
Handler = Callable[[Request, Any], Awaitable[Response]]


@dataclass(frozen=True)
class FastPredict:
    """The predict route's gate and body, shared with the FastAPI route."""

    gate: Callable[[Request], Awaitable[Principal]]
    run: Callable[[PredictRequest, RequestContext], Awaitable[bytes]]


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

"""``create_app(settings)``: the FastAPI gateway with every gate wired in order.

request → body limit and content type (middleware) → per-address limit →
authentication → scope → per-principal limit → input guards → model adapter →
output guards → response with security headers → one audit event, batched.

A ``POST /v1/predict`` that every one of those gates would admit is served by
the fast lane (``fastpath.PredictLane``) in one layer in front of the stack,
with the same checks, handler, headers and audit event; every other request,
and every refusal, goes through the stack.
"""

import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import parse_qsl

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from bastion import __version__
from bastion.core.audit_sink import AuditSink
from bastion.core.errors import BastionError, ConfigError, ServiceUnavailableError
from bastion.core.identity import Principal
from bastion.core.settings import Settings
from bastion.serving.adapters import ModelAdapter, UpstreamError, adapter_from_settings
from bastion.serving.apikeys import ApiKeyStore, key_store_from_settings
from bastion.serving.auditwriter import AuditWriter, BatchSink
from bastion.serving.auth import Authenticator, gate, limit_address
from bastion.serving.context import Refusal, RequestContext, ctx_of, error_body
from bastion.serving.fastpath import PREDICT_PATH, FastPredict, FastPredictMiddleware, PredictLane
from bastion.serving.guardchain import GuardChainLike, guard_chain_from_settings
from bastion.serving.metrics import GatewayMetrics
from bastion.serving.middleware import GatewayCore, GatewayMiddleware, MiddlewareConfig
from bastion.serving.ratelimit import RateLimiter, limiter_from_settings
from bastion.serving.schemas import (
    ErrorBody,
    GuardScanRequest,
    GuardScanResponse,
    GuardSummary,
    Health,
    Jwks,
    OAuthError,
    Prediction,
    PredictRequest,
    PredictResponse,
    Readiness,
    TokenResponse,
)
from bastion.serving.tokens import TokenIssuer, TokenVerifier, token_services

log = logging.getLogger(__name__)

GUARD_BLOCKED = "guard-blocked"
JSON_PATHS = ("/v1/predict", "/v1/guard/input", "/v1/guard/output")
FORM_PATHS = ("/oauth/token",)

_PREDICTIONS = TypeAdapter(list[Prediction])  # one validation call for a batch of outputs
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        401: "missing, malformed, wrong, expired or revoked credentials",
        403: "the credential's scopes do not grant this route",
        413: "body larger than serving.max_body_bytes",
        415: "wrong content type",
        422: "invalid body (the field is named) or input blocked by a guard",
        429: "rate limited (see Retry-After and RateLimit-* headers)",
        503: "a store or the upstream model is unavailable",
    }.items()
}


@dataclass
class Gateway:
    """The components one app uses; built from settings or injected by tests."""

    settings: Settings
    keys: ApiKeyStore
    issuer: TokenIssuer
    verifier: TokenVerifier
    limiter: RateLimiter
    adapter: ModelAdapter
    guards: GuardChainLike
    audit: BatchSink
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)
    writer: AuditWriter | None = None

    _authenticator: Authenticator | None = field(default=None, repr=False)

    @property
    def authenticator(self) -> Authenticator:
        """Built once per (key store, verifier) pair: the gate asks on every request."""
        current = self._authenticator
        if current is None or current.keys is not self.keys or current.tokens is not self.verifier:
            current = self._authenticator = Authenticator(self.keys, self.verifier)
        return current


def build_gateway(settings: Settings, **overrides: Any) -> Gateway:
    """Every component from ``settings`` unless given in ``overrides`` (by field name)."""
    from bastion.audit import open_audit_log

    def pick(name: str, factory: Callable[[], Any]) -> Any:
        return overrides[name] if name in overrides else factory()

    issuer, verifier = (
        (overrides["issuer"], overrides["verifier"])
        if "issuer" in overrides
        else token_services(settings)
    )
    return Gateway(
        settings=settings,
        keys=pick("keys", lambda: key_store_from_settings(settings)),
        issuer=issuer,
        verifier=verifier,
        limiter=pick("limiter", lambda: limiter_from_settings(settings)),
        adapter=pick("adapter", lambda: adapter_from_settings(settings)),
        guards=pick("guards", lambda: guard_chain_from_settings(settings)),
        audit=pick("audit", lambda: open_audit_log(settings)),
    )


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "header")]
    return ".".join(parts) or "body"


async def refusal_response(request: Request, exc: Refusal) -> JSONResponse:
    """The JSON error of a refusal (registered as a handler, called by the fast path)."""
    ctx = ctx_of(request)
    for reason in exc.reasons:
        ctx.add_reason(reason)
    if exc.field:
        ctx.field = exc.field
    body = error_body(
        exc.status, exc.code, exc.message, ctx.request_id, reasons=exc.reasons, field=exc.field
    )
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


async def unavailable_response(request: Request, exc: ServiceUnavailableError) -> JSONResponse:
    """502/503 for a failed upstream or store (handler and fast path)."""
    ctx = ctx_of(request)
    code = "upstream-unavailable" if isinstance(exc, UpstreamError) else "store-unavailable"
    ctx.add_reason(code)
    log.warning("request %s: %s", ctx.request_id, exc)
    status = 502 if isinstance(exc, UpstreamError) else 503
    message = "the model upstream failed" if status == 502 else "a store is unavailable"
    return JSONResponse(error_body(status, code, message, ctx.request_id), status_code=status)


async def unusable_response(request: Request, exc: ConfigError) -> JSONResponse:
    """422 for input the configured model cannot use (handler and fast path)."""
    ctx = ctx_of(request)
    ctx.add_reason("invalid-request")
    return JSONResponse(
        error_body(422, "invalid-request", exc.message, ctx.request_id), status_code=422
    )


def _install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Refusal, refusal_response)  # type: ignore[arg-type]

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        ctx = ctx_of(request)
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid body"}
        loc = tuple(first.get("loc", ("body",)))
        if first.get("type") == "json_invalid":
            where = "body"
            message = f"body: malformed JSON near character {loc[-1] if len(loc) > 1 else 0}"
        else:
            where = _field_of(loc)
            message = f"{where}: {first.get('msg', 'invalid value')}"
        ctx.field = where
        ctx.add_reason("invalid-request")
        body = error_body(422, "invalid-request", message, ctx.request_id, field=where)
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        ctx = ctx_of(request)
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        ctx.add_reason(code)
        body = error_body(exc.status_code, code, str(exc.detail), ctx.request_id)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(ServiceUnavailableError, unavailable_response)  # type: ignore[arg-type]
    app.add_exception_handler(ConfigError, unusable_response)  # type: ignore[arg-type]


class GatewayApp(FastAPI):
    """The gateway's FastAPI app, with the predict fast lane in front of its stack.

    ``POST /v1/predict`` goes to :class:`PredictLane` first, which serves the
    request itself only when it will be admitted and otherwise hands it to the
    full stack (``FastAPI.__call__``) untouched.  ``lane = None`` turns it off.
    """

    lane: PredictLane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.lane
        if (
            lane is not None
            and scope["type"] == "http"
            and scope["path"] == PREDICT_PATH
            and scope["method"] == "POST"
        ):
            await lane(scope, receive, send, super().__call__, self._lane_plan)
            return
        await super().__call__(scope, receive, send)

    def _lane_plan(self) -> Any:
        assert self.lane is not None
        return self.lane.plan(self.user_middleware, getattr(self, "_native_telemetry", None))


def create_app(settings: Settings, **overrides: Any) -> GatewayApp:
    """The gateway app for ``settings`` (components may be injected for tests/benchmarks)."""
    gw = build_gateway(settings, **overrides)
    serving = settings.serving

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        gw.writer = AuditWriter(
            gw.audit, batch_size=serving.audit_batch_size, flush_seconds=serving.audit_flush_seconds
        )
        try:
            yield
        finally:
            # Graceful shutdown: uvicorn has stopped accepting and drained requests.
            await anyio.to_thread.run_sync(gw.writer.close)
            await gw.adapter.aclose()

    app = GatewayApp(
        title="Bastion gateway",
        version=__version__,
        description="Authenticated, rate-limited, guarded and audited model serving.",
        lifespan=lifespan,
    )
    app.state.gateway = gw
    _install_error_handlers(app)
    _install_routes(app, gw)
    handlers = (
        (Refusal, refusal_response),
        (ServiceUnavailableError, unavailable_response),
        (ConfigError, unusable_response),
    )
    # Innermost: well-formed POST /v1/predict bodies skip FastAPI's routing and
    # dependency injection; anything else (and every error) takes the route.
    app.add_middleware(
        FastPredictMiddleware,
        fast=app.state.fast_predict,
        route=next(r for r in app.routes if getattr(r, "path", None) == PREDICT_PATH),
        handlers=handlers,
    )
    # Monitoring: /dashboard (admin scope), client blocklist and model rollback hooks.
    from bastion.monitor.dashboard import install_monitoring

    install_monitoring(app, gw)
    if serving.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(serving.cors_origins),
            allow_credentials=False,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
        )
    core = GatewayCore(
        MiddlewareConfig(
            max_body_bytes=serving.max_body_bytes,
            json_paths=JSON_PATHS,
            form_paths=FORM_PATHS,
            hsts=serving.tls_cert is not None,
            audit_raw_text=serving.audit_raw_text,
            trusted_proxies=tuple(serving.trusted_proxies),
        ),
        gw.metrics,
        lambda: gw.writer,
    )
    app.add_middleware(GatewayMiddleware, core=core)
    # Outermost: admitted POST /v1/predict requests are served in one layer.
    app.lane = PredictLane(gateway=gw, core=core, run=app.state.fast_predict.run, handlers=handlers)
    return app


def _install_routes(app: FastAPI, gw: Gateway) -> None:
    serving = gw.settings.serving
    predict_gate = gate("predict", lambda: gw.authenticator, lambda: gw.limiter)
    guard_gate = gate("guard:scan", lambda: gw.authenticator, lambda: gw.limiter)

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        response_model_exclude_none=True,
        responses={**_ERRORS, 502: {"model": ErrorBody, "description": "upstream failed"}},
        tags=["model"],
    )
    async def predict(
        body: PredictRequest,
        request: Request,
        principal: Annotated[Principal, Depends(predict_gate)],
    ) -> Response:
        """Score texts (``inputs``) or records (``instances``) with the configured model."""
        payload = await run_predict(body, ctx_of(request))
        return Response(payload, media_type="application/json")

    async def run_predict(body: PredictRequest, ctx: RequestContext) -> bytes:
        items = body.inputs if body.inputs is not None else body.instances
        assert items is not None
        name = "inputs" if body.inputs is not None else "instances"
        if len(items) > serving.max_batch_items:
            raise Refusal(
                422, "batch-too-large", f"at most {serving.max_batch_items} items", field=name
            )
        # Plain lists until the end: assigning to a pydantic model goes through __setattr__.
        input_reasons: list[str] = []
        output_reasons: list[str] = []
        modified = False
        ctx.details["items"] = len(items)
        if body.inputs is not None:
            texts = []
            for index, text in enumerate(body.inputs):
                if len(text) > serving.max_text_chars:
                    raise Refusal(
                        422,
                        "text-too-long",
                        f"texts are limited to {serving.max_text_chars} characters",
                        field=f"inputs.{index}",
                    )
                verdict = gw.guards.scan_input(text)
                if verdict.reasons:
                    input_reasons.extend(r for r in verdict.reasons if r not in input_reasons)
                if verdict.blocked:
                    ctx.details["guard_input"] = list(verdict.reasons)
                    raise Refusal(
                        422,
                        GUARD_BLOCKED,
                        "input refused by the guard chain",
                        reasons=[GUARD_BLOCKED, *verdict.reasons],
                        field=f"inputs.{index}",
                    )
                modified = modified or verdict.text != text
                texts.append(verdict.text)
            outputs = await gw.adapter.predict_texts(texts)
        else:
            outputs = await gw.adapter.predict_records(body.instances or [])
        checked = []
        for index, output in enumerate(outputs):
            text_out = output.get("text")
            if isinstance(text_out, str):
                verdict = gw.guards.scan_output(text_out)
                if verdict.reasons:
                    output_reasons.extend(r for r in verdict.reasons if r not in output_reasons)
                if verdict.blocked:
                    ctx.details["guard_output"] = list(verdict.reasons)
                    raise Refusal(
                        422,
                        GUARD_BLOCKED,
                        "model output withheld by the guard chain",
                        reasons=[GUARD_BLOCKED, *verdict.reasons],
                        field=f"predictions.{index}",
                    )
                if verdict.text != text_out:
                    modified = True
                output = {**output, "text": verdict.text}
            checked.append(output)
        for reason in input_reasons + output_reasons:
            ctx.add_reason(reason)
        # Only the adapter's outputs need validating; the rest was built here with the
        # declared types, so the models are constructed as they are (same JSON).
        result = PredictResponse.model_construct(
            model=str(gw.adapter.name),
            predictions=_PREDICTIONS.validate_python(checked),
            guards=GuardSummary.model_construct(
                input_reasons=input_reasons, output_reasons=output_reasons, modified=modified
            ),
            request_id=ctx.request_id,
        )
        # Serialised here, once: returning the model would make FastAPI validate
        # it again against response_model before dumping it (same JSON either way).
        return result.model_dump_json(exclude_none=True).encode()

    app.state.fast_predict = FastPredict(predict_gate, run_predict)

    def _scan(direction: str) -> Callable[..., Any]:
        async def scan(
            body: GuardScanRequest,
            request: Request,
            principal: Annotated[Principal, Depends(guard_gate)],
        ) -> GuardScanResponse:
            ctx = ctx_of(request)
            context = _scan_context(direction, body.fields)
            verdict = (
                gw.guards.scan_input(body.text, context)
                if direction == "input"
                else gw.guards.scan_output(body.text, context)
            )
            for reason in verdict.reasons:
                ctx.add_reason(reason)
            data = verdict.to_dict()
            ctx.details["decision"] = data.get("decision")
            return GuardScanResponse(**{**data, "request_id": ctx.request_id})

        scan.__doc__ = f"Scan text with the {direction} guards, without calling a model."
        return scan

    for direction in ("input", "output"):
        app.post(
            f"/v1/guard/{direction}",
            response_model=GuardScanResponse,
            responses=_ERRORS,
            tags=["guards"],
            name=f"guard_{direction}",
        )(_scan(direction))

    @app.post(
        "/oauth/token",
        response_model=TokenResponse,
        responses={
            400: {"model": OAuthError, "description": "invalid request, grant or scope"},
            401: {"model": OAuthError, "description": "invalid client credentials"},
            413: _ERRORS[413],
            415: _ERRORS[415],
            429: _ERRORS[429],
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["grant_type"],
                            "properties": {
                                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                                "client_id": {"type": "string"},
                                "client_secret": {"type": "string"},
                                "scope": {"type": "string"},
                            },
                        }
                    }
                },
            }
        },
        tags=["auth"],
    )
    async def oauth_token(request: Request) -> Response:
        """OAuth2 client credentials: client id = key name, client secret = the API key."""
        ctx = await limit_address(request, gw.limiter)
        try:
            params = _token_params(request, ctx.body)
        except ValueError as exc:
            return _oauth_error(ctx, 400, "invalid_request", str(exc))
        if params.get("grant_type") != "client_credentials":
            return _oauth_error(
                ctx,
                400,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported",
            )
        client_id, secret = params.get("client_id", ""), params.get("client_secret", "")
        if not secret:
            return _oauth_error(ctx, 401, "invalid_client", "client credentials required")
        check = await anyio.to_thread.run_sync(gw.keys.verify, secret)
        if check.record is None or (client_id and client_id != check.record.name):
            ctx.add_reason(check.reason if check.record is None else "client-id-mismatch")
            return _oauth_error(ctx, 401, "invalid_client", "client authentication failed")
        record = check.record
        ctx.principal, ctx.authenticated_by = record.principal_id, "api-key"
        requested = frozenset(params.get("scope", "").split()) or record.scopes
        if not requested <= record.scopes:
            return _oauth_error(
                ctx, 400, "invalid_scope", "requested scopes exceed the client's scopes"
            )
        token = gw.issuer.issue(record.principal_id, requested)
        ctx.details["token_scope"] = token.scope
        payload = TokenResponse(
            access_token=token.access_token, expires_in=token.expires_in, scope=token.scope
        )
        return JSONResponse(payload.model_dump(), headers={"Pragma": "no-cache"})

    @app.get("/.well-known/jwks.json", response_model=Jwks, tags=["auth"])
    async def jwks() -> dict[str, Any]:
        """The public key(s) that verify this gateway's access tokens."""
        return gw.issuer.jwks()

    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get(
        "/readyz", response_model=Readiness, responses={503: {"model": Readiness}}, tags=["ops"]
    )
    async def readyz() -> JSONResponse:
        """Readiness: the key store, audit store, rate-limit store and model answer."""
        checks = {
            "key_store": await _probe(gw.keys.ping),
            "audit_store": await _probe(_audit_probe(gw.audit)),
            "rate_limit_store": await gw.limiter.ping(),
            "model": await _safe_ready(gw.adapter),
            "audit_writer": gw.writer is not None,
        }
        ready = all(checks.values())
        body = {"status": "ready" if ready else "not-ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get(
        "/metrics",
        tags=["ops"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}},
    )
    async def metrics() -> Response:
        """Prometheus metrics (requests, latency histograms, refusals by reason)."""
        return Response(gw.metrics.render(), media_type=gw.metrics.content_type)


def _scan_context(direction: str, fields: dict[str, str] | None) -> Any:
    try:
        from bastion.guards.base import ScanContext
    except ImportError:
        return None
    return ScanContext(
        direction="input" if direction == "input" else "output", fields=dict(fields or {})
    )


def _audit_probe(audit: Any) -> Callable[[], Any]:
    def probe() -> Any:
        latest = getattr(audit, "latest_checkpoint", None)
        return latest() if callable(latest) else None

    return probe


async def _probe(check: Callable[[], Any]) -> bool:
    try:
        await anyio.to_thread.run_sync(check)
    except (BastionError, OSError):
        return False
    return True


async def _safe_ready(adapter: ModelAdapter) -> bool:
    try:
        return await adapter.ready()
    except Exception:
        return False


def _token_params(request: Request, body: bytes) -> dict[str, str]:
    """Form or JSON parameters plus HTTP Basic client credentials; duplicates refused."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    if media == "application/json":
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise ValueError("body is not valid JSON") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError("the body must be an object of strings")
        params = dict(data)
    else:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise ValueError("the body is not UTF-8") from None
        for key, value in pairs:
            if key in params:
                raise ValueError(f"parameter {key!r} given twice")
            params[key] = value
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(basic[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError("malformed HTTP Basic credentials") from None
        client_id, sep, secret = decoded.partition(":")
        if not sep or "client_secret" in params:
            raise ValueError("give client credentials once (Basic header or body)")
        params["client_id"], params["client_secret"] = client_id, secret
    return params


def _oauth_error(ctx: Any, status: int, error: str, description: str) -> JSONResponse:
    ctx.add_reason(f"oauth-{error.replace('_', '-')}")
    headers = {"WWW-Authenticate": 'Basic realm="bastion"'} if status == 401 else None
    return JSONResponse(
        {"error": error, "error_description": description, "request_id": ctx.request_id},
        status_code=status,
        headers=headers,
    )


__all__ = ["AuditSink", "Gateway", "build_gateway", "create_app"]

"""The monitoring dashboard, served by the gateway at ``/dashboard`` (admin scope).

Views: overview (traffic, refusals by reason, guard detections, open incidents,
recent alerts), drift, fairness, incidents and one incident's timeline.
Authentication is the gateway's: ``Authorization: Bearer <admin key or token>``,
or — for a browser, which cannot send that header — a sign-in form that
exchanges an admin API key for a short-lived access token kept in an
``HttpOnly; SameSite=Strict`` cookie scoped to ``/dashboard``.

``install_monitoring(app, gateway)`` mounts the views and the monitor's
gateway hooks (client blocklist, model rollback).
"""

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bastion.core.errors import NotFoundError
from bastion.core.identity import Principal
from bastion.core.timeutil import utcnow
from bastion.monitor.gateway import install_hooks
from bastion.monitor.service import drift_from_settings, fairness_from_settings
from bastion.monitor.store import MonitorStore, store_from_settings

ADMIN_ACTION = "keys:admin"


def _pages() -> Any:
    """The page renderers (they need matplotlib, from the ``monitor`` extra)."""
    try:
        from bastion.monitor.dashboard import pages
    except ImportError:
        from bastion.serving.context import Refusal

        raise Refusal(
            503, "dashboard-unavailable", "install bastion[monitor] to serve the dashboard"
        ) from None
    return pages


COOKIE = "bastion_dashboard"
EVENT_LIMIT = 50_000


def admin_dependency(gw: Any) -> Any:
    """Admit principals whose scopes grant ``keys:admin`` (header credentials or cookie)."""
    from bastion.serving.auth import actions_for, limit_address
    from bastion.serving.context import Refusal

    async def dependency(request: Request) -> Principal:
        ctx = await limit_address(request, gw.limiter)
        authenticator = gw.authenticator
        has_header = "authorization" in request.headers or "x-api-key" in request.headers
        cookie = request.cookies.get(COOKIE)
        principal: Principal = (
            authenticator.principal_for_token(cookie)
            if cookie and not has_header
            else await authenticator.authenticate(request)
        )
        ctx.principal, ctx.authenticated_by = principal.id, principal.authenticated_by
        if ADMIN_ACTION not in actions_for(principal.scopes):
            raise Refusal(403, "scope-missing", "the dashboard needs the admin scope")
        result = await gw.limiter.check_principal(principal.id, body_bytes=len(ctx.body))
        if not result.allowed:
            raise Refusal(429, "rate-limited", "too many requests", headers=result.headers())
        return principal

    return dependency


def build_router(gw: Any, store: MonitorStore) -> APIRouter:
    """The dashboard routes for one gateway."""
    router = APIRouter(prefix="/dashboard", include_in_schema=False)
    admin = admin_dependency(gw)
    settings = gw.settings
    Admin = Annotated[Principal, Depends(admin)]  # noqa: N806 - a type alias

    def html(text: str) -> HTMLResponse:
        return HTMLResponse(text)

    @router.get("/static/dashboard.css")
    async def stylesheet() -> Response:
        return Response(_pages().CSS, media_type="text/css")

    @router.get("")
    async def overview(principal: Admin) -> HTMLResponse:
        def build() -> str:
            until = utcnow()
            since = until - timedelta(hours=settings.monitor.dashboard_hours)
            query = getattr(gw.audit, "query", None)
            events = (
                query(action="gateway:request", since=since, until=until, limit=EVENT_LIMIT)
                if callable(query)
                else []
            )
            text: str = _pages().overview(
                events,
                since,
                until,
                store.list_incidents(),
                store.recent_alerts(),
                len(store.blocked()),
            )
            return text

        body = await anyio.to_thread.run_sync(build)
        return html(_pages().layout("Overview", "overview", body, principal.id))

    @router.get("/drift")
    async def drift_view(principal: Admin) -> HTMLResponse:
        body = await anyio.to_thread.run_sync(
            lambda: _pages().drift_page(drift_from_settings(settings))
        )
        return html(_pages().layout("Drift per feature", "drift", body, principal.id))

    @router.get("/fairness")
    async def fairness_view(principal: Admin) -> HTMLResponse:
        body = await anyio.to_thread.run_sync(
            lambda: _pages().fairness_page(fairness_from_settings(settings))
        )
        return html(_pages().layout("Fairness gaps", "fairness", body, principal.id))

    @router.get("/incidents")
    async def incidents_view(principal: Admin) -> HTMLResponse:
        incidents = await anyio.to_thread.run_sync(store.list_incidents)
        return html(
            _pages().layout(
                "Incidents", "incidents", _pages().incident_table(incidents), principal.id
            )
        )

    @router.get("/incidents/{incident_id}")
    async def incident_view(incident_id: str, principal: Admin) -> HTMLResponse:
        from bastion.serving.context import Refusal

        try:
            incident = await anyio.to_thread.run_sync(store.get, incident_id)
        except NotFoundError:
            raise Refusal(404, "not-found", "no such incident") from None
        return html(
            _pages().layout(
                f"Incident {incident.id}",
                "incidents",
                _pages().incident_detail(incident),
                principal.id,
            )
        )

    @router.get("/login")
    async def login_form() -> HTMLResponse:
        return html(_pages().login_page())

    @router.post("/login")
    async def login(request: Request) -> Response:
        from bastion.serving.auth import actions_for, limit_address

        ctx = await limit_address(request, gw.limiter)
        try:
            form = dict(parse_qsl(ctx.body.decode("utf-8")))
        except UnicodeDecodeError:
            form = {}
        check = await anyio.to_thread.run_sync(gw.keys.verify, form.get("key", "").strip())
        if check.record is None or ADMIN_ACTION not in actions_for(check.record.scopes):
            ctx.add_reason(check.reason if check.record is None else "scope-missing")
            return HTMLResponse(_pages().login_page("That key is not a valid admin key."), 401)
        ctx.principal, ctx.authenticated_by = check.record.principal_id, "api-key"
        token = gw.issuer.issue(check.record.principal_id, frozenset({"admin"}))
        response = RedirectResponse("/dashboard", status_code=303)
        response.set_cookie(
            COOKIE,
            token.access_token,
            max_age=int(token.expires_in),
            path="/dashboard",
            httponly=True,
            samesite="strict",
            secure=settings.serving.tls_cert is not None,
        )
        return response

    @router.post("/logout")
    async def logout() -> Response:
        response = RedirectResponse("/dashboard/login", status_code=303)
        response.delete_cookie(COOKIE, path="/dashboard")
        return response

    return router


def install_monitoring(app: FastAPI, gw: Any) -> None:
    """Mount the dashboard and the monitor's gateway hooks on a gateway app."""
    store = store_from_settings(gw.settings)
    app.include_router(build_router(gw, store))
    install_hooks(app, gw, store)


__all__ = ["COOKIE", "admin_dependency", "build_router", "install_monitoring"]

"""Per-request state shared by the middleware and the handlers, and typed refusals."""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from starlette.requests import Request

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
STATE_KEY = "bastion_ctx"
ANONYMOUS = "anonymous"


# Fresh ids: 16 random hex chars per process, then a counter — unique without a
# getrandom() system call per request (uuid4 was a visible share of the request
# cost).  Ids correlate logs and audit events; they are not secrets.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


def _new_id_prefix() -> None:
    """A forked worker must not repeat its parent's ids."""
    global _ID_PREFIX, _ID_COUNTER
    _ID_PREFIX, _ID_COUNTER = os.urandom(8).hex(), itertools.count(1)


os.register_at_fork(after_in_child=_new_id_prefix)


def request_id_from(header: str | None) -> str:
    """The caller's ``X-Request-ID`` if it is a safe token, else a fresh one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


@dataclass
class RequestContext:
    """Everything the audit event and the response headers need to know about one request."""

    request_id: str
    client: str
    body: bytes = b""
    input_digest: str | None = None
    principal: str = ANONYMOUS
    authenticated_by: str | None = None
    reasons: list[str] = dc_field(default_factory=list)
    field: str | None = None
    headers: dict[str, str] = dc_field(default_factory=dict)
    details: dict[str, Any] = dc_field(default_factory=dict)

    def add_reason(self, reason: str) -> None:
        """Record a reason code once."""
        if reason not in self.reasons:
            self.reasons.append(reason)


def ctx_of(request: Request) -> RequestContext:
    """The context the middleware attached to ``request``."""
    ctx = request.scope.get("state", {}).get(STATE_KEY)
    if not isinstance(ctx, RequestContext):
        raise RuntimeError("request context missing: is GatewayMiddleware installed?")
    return ctx


class Refusal(Exception):  # noqa: N818 - a refusal is an outcome, not a bug
    """A request refused for a stated reason; rendered as a JSON error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        reasons: tuple[str, ...] | list[str] = (),
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.reasons = list(reasons) or [code]
        self.field = field
        self.headers = headers or {}


def error_body(
    status: int,
    code: str,
    message: str,
    request_id: str,
    *,
    reasons: list[str] | None = None,
    field: str | None = None,
) -> dict[str, Any]:
    """The one JSON shape of every error."""
    return {
        "error": {
            "status": status,
            "code": code,
            "message": message,
            "reasons": reasons or [code],
            "field": field,
            "request_id": request_id,
        }
    }

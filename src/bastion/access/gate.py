"""The one process-wide gate: ``require(principal, action, resource)`` and ``@requires``.

Library code asks the gate rather than holding an authorizer: tests and
services install one with :func:`configure`; otherwise the first request
builds one from the settings (policy file + audit log).  A missing policy file
yields an authorizer that denies everything with reason ``no-policy``.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from bastion.access.authorizer import Authorizer, Decision, PrincipalLike
from bastion.access.policy import load_policy
from bastion.core.settings import Settings, load_settings

P = ParamSpec("P")
R = TypeVar("R")

ResourceSpec = str | Callable[[Mapping[str, Any]], str]

_lock = threading.Lock()
_default: Authorizer | None = None


def authorizer_from_settings(settings: Settings) -> Authorizer:
    """An authorizer for ``settings``: its policy file and its audit log.

    A malformed policy raises ``ValidationError`` (file, line, field); a missing
    one gives a deny-everything authorizer so nothing is silently allowed.
    """
    from bastion.audit import open_audit_log

    path = settings.policy_path
    policy = load_policy(path) if path.exists() else None
    return Authorizer(policy, open_audit_log(settings), policy_path=path)


def configure(authorizer: Authorizer | None) -> None:
    """Install the process-wide authorizer (``None`` to rebuild from settings on next use)."""
    global _default
    with _lock:
        _default = authorizer


def default_authorizer() -> Authorizer:
    """The process-wide authorizer, built from ``load_settings()`` on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = authorizer_from_settings(load_settings())
        return _default


def check(principal: PrincipalLike, action: str, resource: str) -> Decision:
    """Decide (and audit) with the process-wide authorizer, without raising on deny."""
    return default_authorizer().check(principal, action, resource)


def require(principal: PrincipalLike, action: str, resource: str) -> Decision:
    """The gate: return the allow decision or raise ``AccessDeniedError`` (audited either way)."""
    return default_authorizer().require(principal, action, resource)


def requires(
    action: str,
    *,
    resource: ResourceSpec,
    principal_arg: str = "principal",
    authorizer: Authorizer | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Guard a library function that takes a principal argument.

    ``resource`` is a format string over the call's arguments
    (``"dataset:{name}"``) or a callable receiving them as a mapping.  The
    check runs before the body (before the first ``await`` for coroutines);
    denial raises ``AccessDeniedError``.  ``authorizer`` defaults to the gate's.
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(function)
        if principal_arg not in signature.parameters:
            raise TypeError(f"{function.__qualname__} has no {principal_arg!r} parameter to check")

        def guard(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            name = (
                resource.format_map(arguments) if isinstance(resource, str) else resource(arguments)
            )
            gate = authorizer if authorizer is not None else default_authorizer()
            gate.require(arguments[principal_arg], action, name)

        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                guard(args, kwargs)
                return await function(*args, **kwargs)  # type: ignore[misc]

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            guard(args, kwargs)
            return function(*args, **kwargs)

        return wrapper

    return decorate

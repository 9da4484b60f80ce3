"""The authorizer: one decision per request, explained and audited.

Deny by default: a request is allowed only when a known principal holds a role
(directly or by inheritance) with a matching permission and no deny rule
applies.  Every decision, allow or deny, is appended to the audit sink before
it is returned; if that append fails the request is refused with an error,
because an access that cannot be accounted for must not happen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.access.engine import CasbinEngine
from bastion.access.patterns import is_valid_action, resource_problem
from bastion.access.policy import Policy, load_policy
from bastion.core.audit_sink import AuditSink
from bastion.core.errors import EXIT_USAGE, AccessDeniedError
from bastion.core.identity import Principal

# Reason codes: stable, documented, safe to put in audit events.
ALLOWED = "matched-permission"
NO_MATCHING_PERMISSION = "no-matching-permission"
UNKNOWN_PRINCIPAL = "unknown-principal"
EXPLICIT_DENY = "explicit-deny"
NO_POLICY = "no-policy"
INVALID_REQUEST = "invalid-request"
NO_PRINCIPAL = "no-principal"
AUDIT_FAILED = "audit-failed"

ANONYMOUS = "anonymous"
_PRINCIPAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}")
_LABEL_LIMIT = 256
_ACTION_LABEL_LIMIT = 100


@dataclass(frozen=True, slots=True)
class MatchedRule:
    """The policy rule that decided a request, located in the policy file."""

    effect: str  # "allow" or "deny"
    subject: str  # "role:<name>", "principal:<id>" or "everyone"
    action: str  # the action pattern as written
    resource: str  # the resource pattern as written
    file: str
    line: int
    role_chain: tuple[str, ...] = ()  # principal → role → inherited role …
    reason: str = ""  # the deny rule's own reason text, if any

    @property
    def role(self) -> str | None:
        """The role whose rule decided, if the rule belongs to a role."""
        return self.subject.removeprefix("role:") if self.subject.startswith("role:") else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output and audit details."""
        return {
            "effect": self.effect,
            "subject": self.subject,
            "role": self.role,
            "action": self.action,
            "resource": self.resource,
            "file": self.file,
            "line": self.line,
            "role_chain": list(self.role_chain),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one access request and why."""

    allowed: bool
    principal: str
    action: str
    resource: str
    reason: str
    rule: MatchedRule | None = None
    hint: str = ""

    @property
    def outcome(self) -> str:
        """``allow`` or ``deny``, as recorded in the audit log."""
        return "allow" if self.allowed else "deny"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` output (stable keys)."""
        return {
            "allowed": self.allowed,
            "outcome": self.outcome,
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "reason": self.reason,
            "rule": self.rule.to_dict() if self.rule else None,
            "hint": self.hint,
        }

    def explain(self) -> str:
        """A sentence or two for people."""
        verdict = "ALLOW" if self.allowed else "DENY"
        head = f"{verdict}: {self.principal} {self.action} {self.resource} ({self.reason})"
        lines = [head]
        if self.rule is not None:
            rule = self.rule
            where = f"{rule.file}:{rule.line}"
            lines.append(
                f"  {rule.effect} rule for {rule.subject}: {rule.action} on {rule.resource} "
                f"at {where}"
            )
            if rule.role_chain:
                lines.append("  via " + " → ".join(rule.role_chain))
            if rule.reason:
                lines.append(f"  because: {rule.reason}")
        if self.hint:
            lines.append(f"  {self.hint}")
        return "\n".join(lines)


class AuditFailedError(AccessDeniedError):
    """The decision could not be recorded, so the request is refused (fail closed)."""

    exit_code = EXIT_USAGE

    def __init__(self, principal: str, action: str, resource: str, cause: BaseException) -> None:
        super().__init__(principal, action, resource, AUDIT_FAILED)
        self.message = (
            f"access refused: the decision for {principal!r} {action} {resource!r} could not be "
            f"written to the audit log ({type(cause).__name__}: {cause}); fix the audit store "
            "and retry"
        )
        self.args = (self.message,)


PrincipalLike = Principal | str | None


def _label(text: str, limit: int = _LABEL_LIMIT) -> str:
    """A bounded, printable, non-empty rendering of caller input for logs and errors."""
    if not text:
        return "-"
    printable = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return printable + ("…" if len(text) > limit else "")


class Authorizer:
    """Decides requests against one policy and records every decision.

    ``policy=None`` means no policy is configured: everything is denied with
    reason ``no-policy``.  ``audit=None`` skips recording (tests and dry
    explanations only; the process-wide gate always has a sink).
    """

    def __init__(
        self,
        policy: Policy | None,
        audit: AuditSink | None = None,
        *,
        policy_path: Path | None = None,
    ) -> None:
        self._policy = policy
        self._audit = audit
        self._policy_path = policy_path
        self._engine = CasbinEngine(policy) if policy is not None else None

    @classmethod
    def from_file(cls, path: Path, audit: AuditSink | None = None) -> Authorizer:
        """Load ``path`` (raising ``ValidationError`` naming line and field) and build."""
        return cls(load_policy(path), audit, policy_path=path)

    @property
    def policy(self) -> Policy | None:
        """The loaded policy, or ``None`` when none is configured."""
        return self._policy

    @property
    def audit(self) -> AuditSink | None:
        """Where decisions are recorded."""
        return self._audit

    def check(self, principal: PrincipalLike, action: str, resource: str) -> Decision:
        """Decide and record; never raises for a denial (see :meth:`require`).

        Raises :class:`AuditFailedError` (an ``AccessDeniedError``) when the
        decision cannot be recorded.
        """
        decision = self._decide(principal, action, resource)
        authenticated_by = principal.authenticated_by if isinstance(principal, Principal) else None
        self._record(decision, authenticated_by)
        return decision

    def require(self, principal: PrincipalLike, action: str, resource: str) -> Decision:
        """Like :meth:`check`, but raise ``AccessDeniedError`` unless allowed."""
        decision = self.check(principal, action, resource)
        if not decision.allowed:
            raise AccessDeniedError(
                decision.principal, decision.action, decision.resource, decision.reason
            )
        return decision

    # Deciding -----------------------------------------------------------------

    def _decide(self, principal: PrincipalLike, action: str, resource: str) -> Decision:
        if principal is None:
            return Decision(
                False,
                ANONYMOUS,
                _label(str(action), _ACTION_LABEL_LIMIT),
                _label(str(resource)),
                NO_PRINCIPAL,
                hint="no principal was given; pass --as NAME or set BASTION_PRINCIPAL",
            )
        principal_id = principal.id if isinstance(principal, Principal) else principal
        problem = self._request_problem(principal_id, action, resource)
        if problem is not None:
            return Decision(
                False,
                _label(str(principal_id)),
                _label(str(action), _ACTION_LABEL_LIMIT),
                _label(str(resource)),
                INVALID_REQUEST,
                hint=problem,
            )
        if self._policy is None or self._engine is None:
            where = f" at {self._policy_path}" if self._policy_path else ""
            return Decision(
                False,
                principal_id,
                action,
                resource,
                NO_POLICY,
                hint=f"no access policy{where}; everything is denied until one exists "
                "(`bastion access init-policy` writes an example)",
            )
        policy = self._policy
        if principal_id not in policy.principals:
            return Decision(
                False,
                principal_id,
                action,
                resource,
                UNKNOWN_PRINCIPAL,
                hint=f"{principal_id!r} is not listed under 'principals' in {policy.source}",
            )
        deny = self._engine.matching_deny(principal_id, action, resource)
        if deny is not None:
            chain = policy.role_chain(principal_id, deny.role) if deny.role else ()
            return Decision(
                False,
                principal_id,
                action,
                resource,
                EXPLICIT_DENY,
                MatchedRule(
                    "deny",
                    deny.subject,
                    deny.action,
                    deny.resource,
                    policy.source,
                    deny.line,
                    chain,
                    deny.reason,
                ),
            )
        grant = self._engine.matching_grant(principal_id, action, resource)
        if grant is None:
            roles = policy.effective_roles(principal_id)
            held = ", ".join(roles) if roles else "no roles"
            return Decision(
                False,
                principal_id,
                action,
                resource,
                NO_MATCHING_PERMISSION,
                hint=f"{principal_id} holds {held}; none grants {action} on {resource}",
            )
        return Decision(
            True,
            principal_id,
            action,
            resource,
            ALLOWED,
            MatchedRule(
                "allow",
                f"role:{grant.role}",
                grant.permission.action,
                grant.permission.resource,
                policy.source,
                grant.permission.line,
                policy.role_chain(principal_id, grant.role),
            ),
        )

    @staticmethod
    def _request_problem(principal: object, action: object, resource: object) -> str | None:
        if not isinstance(principal, str) or not isinstance(action, str):
            return "principal and action must be text"
        if not isinstance(resource, str):
            return "resource must be text"
        if not _PRINCIPAL_ID.fullmatch(principal):
            return "principal ids are 1-128 characters of letters, digits and . _ @ : + -"
        if not is_valid_action(action):
            return "actions look like 'dataset:read' or 'predict'"
        return resource_problem(resource)

    # Recording ----------------------------------------------------------------

    def _record(self, decision: Decision, authenticated_by: str | None) -> None:
        if self._audit is None:
            return
        details: dict[str, Any] = {
            "event": "access-decision",
            "rule": decision.rule.to_dict() if decision.rule else None,
            "reason": decision.reason,
        }
        if authenticated_by:
            details["authenticated_by"] = authenticated_by
        try:
            self._audit.append(
                principal=decision.principal,
                action=decision.action,
                resource=decision.resource,
                outcome=decision.outcome,
                details=details,
            )
        except Exception as exc:  # any failure to record must refuse the access
            raise AuditFailedError(
                decision.principal, decision.action, decision.resource, exc
            ) from exc

"""Authorization: a YAML policy of roles and permissions, enforced by casbin, all audited.

Public API::

    from bastion.access import require, check, requires, configure, Authorizer

    require(principal, "dataset:read", "dataset:clinical/notes")   # raises AccessDeniedError

See ``docs/access.md`` for the policy format.
"""

from bastion.access.authorizer import (
    ALLOWED,
    AUDIT_FAILED,
    EXPLICIT_DENY,
    INVALID_REQUEST,
    NO_MATCHING_PERMISSION,
    NO_POLICY,
    NO_PRINCIPAL,
    UNKNOWN_PRINCIPAL,
    AuditFailedError,
    Authorizer,
    Decision,
    MatchedRule,
)
from bastion.access.example import example_policy_text, write_example_policy
from bastion.access.gate import (
    authorizer_from_settings,
    check,
    configure,
    default_authorizer,
    require,
    requires,
)
from bastion.access.patterns import BUILTIN_ACTIONS, action_matches, resource_matches
from bastion.access.policy import (
    DenyRule,
    Permission,
    Policy,
    PrincipalBinding,
    Role,
    load_policy,
    parse_policy,
)

__all__ = [
    "ALLOWED",
    "AUDIT_FAILED",
    "BUILTIN_ACTIONS",
    "EXPLICIT_DENY",
    "INVALID_REQUEST",
    "NO_MATCHING_PERMISSION",
    "NO_POLICY",
    "NO_PRINCIPAL",
    "UNKNOWN_PRINCIPAL",
    "AuditFailedError",
    "Authorizer",
    "Decision",
    "DenyRule",
    "MatchedRule",
    "Permission",
    "Policy",
    "PrincipalBinding",
    "Role",
    "action_matches",
    "authorizer_from_settings",
    "check",
    "configure",
    "default_authorizer",
    "example_policy_text",
    "load_policy",
    "parse_policy",
    "require",
    "requires",
    "resource_matches",
    "write_example_policy",
]

"""Translate a :class:`Policy` into a casbin model and policy, and ask casbin.

Subjects are namespaced so that a principal and a role with the same name can
never be confused: ``user:<id>``, ``role:<name>``, and ``*`` (everyone, deny
rules only).  Allows live in section ``p`` and denies in ``p2`` with their own
matcher, so casbin's ``explain`` names the deciding rule for both outcomes.
Matching uses Bastion's whole-segment patterns (see ``patterns``) registered as
casbin functions instead of ``keyMatch``, whose raw prefix match lets
``dataset:clinical*`` grant ``dataset:clinicalx``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import casbin
from casbin.core_enforcer import EnforceContext
from casbin.rbac.default_role_manager.role_manager import RoleManager

from bastion.access.patterns import action_matches, resource_matches
from bastion.access.policy import DenyRule, Permission, Policy

CASBIN_MODEL = """
[request_definition]
r = sub, act, obj

[policy_definition]
p = sub, act, obj, rule
p2 = sub, act, obj, rule

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && actionMatch(r.act, p.act) && resourceMatch(r.obj, p.obj)
m2 = (p2.sub == "*" || g(r.sub, p2.sub)) && actionMatch(r.act, p2.act) && \
resourceMatch(r.obj, p2.obj)
"""

_DENY_CONTEXT = EnforceContext(rtype="r", ptype="p2", etype="e", mtype="m2")


def user_subject(principal: str) -> str:
    """The casbin subject of a principal."""
    return f"user:{principal}"


def role_subject(role: str) -> str:
    """The casbin subject of a role."""
    return f"role:{role}"


@dataclass(frozen=True, slots=True)
class Grant:
    """An allow rule as casbin sees it, tied back to its role and file line."""

    role: str
    permission: Permission


def _bool_match(matcher: object) -> object:
    def call(*args: object) -> bool:
        if len(args) != 2 or not all(isinstance(arg, str) for arg in args):
            return False
        return bool(matcher(args[0], args[1]))  # type: ignore[operator]

    return call


class CasbinEngine:
    """A casbin enforcer loaded with one policy; answers which rule allows or denies."""

    def __init__(self, policy: Policy) -> None:
        self._grants: list[Grant] = []
        self._denies: list[DenyRule] = list(policy.deny)
        self._lock = threading.Lock()
        model = casbin.Enforcer.new_model(text=CASBIN_MODEL)
        enforcer = casbin.Enforcer(model)
        # casbin stops following role links after ``max_hierarchy_level`` hops (default 10)
        # and then silently denies; size it to this policy's deepest chain.
        enforcer.set_role_manager(
            RoleManager(max_hierarchy_level=policy.max_inheritance_depth() + 1)
        )
        enforcer.add_function("actionMatch", _bool_match(action_matches))
        enforcer.add_function("resourceMatch", _bool_match(resource_matches))

        allow_rules: list[list[str]] = []
        for role in policy.roles.values():
            for permission in role.permissions:
                allow_rules.append(
                    [
                        role_subject(role.name),
                        permission.action,
                        permission.resource,
                        str(len(self._grants)),
                    ]
                )
                self._grants.append(Grant(role.name, permission))
        deny_rules = [
            [
                user_subject(rule.principal)
                if rule.principal is not None
                else role_subject(rule.role)
                if rule.role is not None
                else "*",
                rule.action,
                rule.resource,
                str(index),
            ]
            for index, rule in enumerate(self._denies)
        ]
        links = [
            [role_subject(role.name), role_subject(parent)]
            for role in policy.roles.values()
            for parent in role.inherits
        ]
        links += [
            [user_subject(binding.id), role_subject(role)]
            for binding in policy.principals.values()
            for role in binding.roles
        ]
        if allow_rules:
            enforcer.add_named_policies("p", allow_rules)
        if deny_rules:
            enforcer.add_named_policies("p2", deny_rules)
        if links:
            enforcer.add_named_grouping_policies("g", links)
        enforcer.build_role_links()
        self._enforcer = enforcer

    def matching_deny(self, principal: str, action: str, resource: str) -> DenyRule | None:
        """The first deny rule that applies, if any."""
        if not self._denies:
            return None
        with self._lock:
            denied, explain = self._enforcer.enforce_ex(
                _DENY_CONTEXT, user_subject(principal), action, resource
            )
        if not denied:
            return None
        return self._denies[int(explain[3])]

    def matching_grant(self, principal: str, action: str, resource: str) -> Grant | None:
        """The first allow rule that applies, if any."""
        if not self._grants:
            return None
        with self._lock:
            allowed, explain = self._enforcer.enforce_ex(user_subject(principal), action, resource)
        if not allowed:
            return None
        return self._grants[int(explain[3])]

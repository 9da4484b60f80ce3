"""``bastion access``: explain decisions, write an example policy, list roles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from bastion.access import (
    Authorizer,
    Decision,
    Policy,
    authorizer_from_settings,
    load_policy,
    write_example_policy,
)
from bastion.cli.context import console, settings_from
from bastion.core.errors import EXIT_FINDINGS, ConfigError, ValidationError
from bastion.core.identity import Principal

app = typer.Typer(
    help="Access control: who may do what to which data set or model.", no_args_is_help=True
)

_POLICY_OPTION = typer.Option(
    None, "--policy", "-p", help="Policy file (default: access.policy setting, <home>/policy.yaml)."
)


def _close(sink: object) -> None:
    close = getattr(sink, "close", None)
    if callable(close):
        close()


@app.command("check")
def check(
    ctx: typer.Context,
    principal: str = typer.Argument(..., help="Principal id, e.g. alice."),
    action: str = typer.Argument(..., help="Action, e.g. dataset:read."),
    resource: str = typer.Argument(..., help="Resource, e.g. dataset:clinical/notes."),
    policy: Path | None = _POLICY_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
) -> None:
    """Decide one request and explain it; exit 0 allow, 1 deny. The decision is audited."""
    settings = settings_from(ctx)
    if policy is not None:
        settings = settings.model_copy(
            update={"access": settings.access.model_copy(update={"policy": policy})}
        )
        if not policy.exists():
            raise ConfigError(f"{policy}: policy file not found")
    who: Principal | str
    try:
        who = Principal(principal, authenticated_by="cli")
    except ValidationError:
        who = principal  # the authorizer denies it as an invalid request, and audits that
    authorizer = authorizer_from_settings(settings)
    try:
        decision = authorizer.check(who, action, resource)
    finally:
        _close(authorizer.audit)
    if as_json:
        console.print_json(json.dumps(decision.to_dict(), sort_keys=True))
    else:
        _print_decision(decision)
    if not decision.allowed:
        raise typer.Exit(EXIT_FINDINGS)


def _print_decision(decision: Decision) -> None:
    style = "bold green" if decision.allowed else "bold red"
    console.print(
        Text.assemble(
            (decision.outcome.upper(), style),
            f"  {decision.principal}  {decision.action}  {decision.resource}  ",
            (f"({decision.reason})", "dim"),
        )
    )
    rule = decision.rule
    if rule is not None:
        console.print(
            Text(
                f"  {rule.effect} rule for {rule.subject}: {rule.action} on {rule.resource}"
                f"  [{rule.file}:{rule.line}]"
            )
        )
        if rule.role_chain:
            console.print(Text("  via " + " → ".join(rule.role_chain)))
        if rule.reason:
            console.print(Text(f"  because: {rule.reason}"))
    if decision.hint:
        console.print(Text(f"  {decision.hint}", style="yellow"))


@app.command("init-policy")
def init_policy(
    ctx: typer.Context,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Where to write (default: the configured policy path)."
    ),
) -> None:
    """Write a commented example policy (healthcare demo); never overwrites."""
    target = out if out is not None else settings_from(ctx).policy_path
    write_example_policy(target)
    console.print(Text(f"wrote example policy to {target}"))


def _policy_summary(policy: Policy) -> dict[str, Any]:
    return {
        "source": policy.source,
        "roles": {
            role.name: {
                "description": role.description,
                "inherits": list(role.inherits),
                "permissions": [
                    {"action": p.action, "resource": p.resource, "line": p.line}
                    for p in role.permissions
                ],
                "line": role.line,
            }
            for role in policy.roles.values()
        },
        "principals": {
            binding.id: {
                "roles": list(binding.roles),
                "effective_roles": list(policy.effective_roles(binding.id)),
                "line": binding.line,
            }
            for binding in policy.principals.values()
        },
        "deny": [
            {
                "subject": rule.subject,
                "action": rule.action,
                "resource": rule.resource,
                "reason": rule.reason,
                "line": rule.line,
            }
            for rule in policy.deny
        ],
    }


@app.command("roles")
def roles(
    ctx: typer.Context,
    policy: Path | None = _POLICY_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the policy summary as JSON."),
) -> None:
    """List roles (with inheritance and permissions), principals and deny rules."""
    loaded = load_policy(policy if policy is not None else settings_from(ctx).policy_path)
    summary = _policy_summary(loaded)
    if as_json:
        console.print_json(json.dumps(summary, sort_keys=True))
        return
    role_table = Table(title=f"roles ({loaded.source})")
    for column in ("role", "inherits", "permissions", "line"):
        role_table.add_column(column)
    for role in loaded.roles.values():
        role_table.add_row(
            role.name,
            ", ".join(role.inherits) or "-",
            "\n".join(f"{p.action} on {p.resource}" for p in role.permissions) or "-",
            str(role.line),
        )
    console.print(role_table)
    principal_table = Table(title="principals")
    for column in ("principal", "roles", "effective roles"):
        principal_table.add_column(column)
    for binding in loaded.principals.values():
        principal_table.add_row(
            binding.id, ", ".join(binding.roles), ", ".join(loaded.effective_roles(binding.id))
        )
    console.print(principal_table)
    if loaded.deny:
        deny_table = Table(title="deny rules (beat every allow)")
        for column in ("applies to", "action", "resource", "line"):
            deny_table.add_column(column)
        for rule in loaded.deny:
            deny_table.add_row(rule.subject, rule.action, rule.resource, str(rule.line))
        console.print(deny_table)


@app.command("validate")
def validate(
    ctx: typer.Context,
    policy: Path | None = typer.Argument(None, help="Policy file (default: the configured one)."),
) -> None:
    """Check a policy file; errors name the file, line and field (exit 2)."""
    loaded = load_policy(policy if policy is not None else settings_from(ctx).policy_path)
    Authorizer(loaded)  # the casbin translation must succeed too
    console.print(
        Text(
            f"{loaded.source}: ok ({len(loaded.roles)} roles, {len(loaded.principals)} principals, "
            f"{len(loaded.deny)} deny rules)"
        )
    )

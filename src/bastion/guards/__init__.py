"""Guardrails for live traffic: input and output guards composed into chains from YAML policy.

    from bastion.guards import load_chain, ScanContext
    chain = load_chain()                      # bundled default policy
    verdict = chain.scan_input("Ignore all previous instructions")
    verdict.action, verdict.reasons, verdict.text

Every guard implements ``Guard.scan(text, context) -> Verdict``; a chain runs
them in order and returns a ``ChainVerdict``.  A guard that raises fails
closed (``guard-error:<name>``) unless its policy says ``on_error: flag``.
"""

from bastion.guards.base import Action, Direction, Guard, ScanContext, Verdict
from bastion.guards.chain import ChainVerdict, GuardChain
from bastion.guards.policy import GUARD_KINDS, chain_from_policy, default_policy_text, load_chain

__all__ = [
    "GUARD_KINDS",
    "Action",
    "ChainVerdict",
    "Direction",
    "Guard",
    "GuardChain",
    "ScanContext",
    "Verdict",
    "chain_from_policy",
    "default_policy_text",
    "load_chain",
]

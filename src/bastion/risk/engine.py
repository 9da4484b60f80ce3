"""The threat engine: apply data-file rules to every element and flow of a model.

Each threat instance records the rule that fired, the properties that made it
apply, how its likelihood and impact were derived, and which claimed controls
mitigate or suppress it.  Threat ids are stable: a hash of rule id and target id.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bastion.risk.catalogue import Catalogue, Rule
from bastion.risk.conditions import MISSING
from bastion.risk.evidence import ControlEvidence
from bastion.risk.model import Element, Flow, SystemModel


@dataclass(frozen=True)
class MitigationState:
    """One candidate control for a threat and whether it counts."""

    control: str
    state: str  # effective | failing | unverified | not-claimed


@dataclass(frozen=True)
class Threat:
    """One threat instance found by the engine."""

    id: str
    rule: Rule
    target_kind: str
    target: str
    target_name: str
    why: tuple[str, ...]
    likelihood: int
    impact: int
    rationale: str
    mitigations: tuple[MitigationState, ...]
    suppressed: str | None


# Properties of a trained model that protect wherever the model is served.
MODEL_INTRINSIC_CONTROLS = frozenset({"dp-training", "model-hardening", "federated-learning"})


def threat_id(rule_id: str, target_id: str) -> str:
    """Stable id of the threat ``rule_id`` raised on ``target_id``."""
    return "T-" + hashlib.sha256(f"{rule_id}|{target_id}".encode()).hexdigest()[:10]


def _clamp(value: int) -> int:
    return max(1, min(5, value))


class _Views:
    """Derived, read-only facts about elements and flows that rules can test."""

    def __init__(self, model: SystemModel) -> None:
        self.model = model
        self.inbound: dict[str, list[Flow]] = {eid: [] for eid in model.elements}
        self.outbound: dict[str, list[Flow]] = {eid: [] for eid in model.elements}
        for flow in model.flows.values():
            self.inbound[flow.target].append(flow)
            self.outbound[flow.source].append(flow)
        self.fed_from_outside = self._fed_from_outside()
        self.element_facts = {eid: self._element_facts(e) for eid, e in model.elements.items()}

    def crosses(self, flow: Flow) -> bool:
        return (
            self.model.elements[flow.source].boundary != self.model.elements[flow.target].boundary
        )

    def _fed_from_outside(self) -> set[str]:
        queue = deque(f.target for f in self.model.flows.values() if self.crosses(f))
        seen: set[str] = set()
        while queue:
            eid = queue.popleft()
            if eid in seen:
                continue
            seen.add(eid)
            queue.extend(f.target for f in self.outbound[eid])
        return seen

    def _element_facts(self, element: Element) -> dict[str, Any]:
        data = set(element.data)
        for flow in self.inbound[element.id] + self.outbound[element.id]:
            data |= flow.data
        trained = set(element.properties.get("trained_on", []))
        if not trained and element.type in ("inference_endpoint", "llm"):
            for flow in self.inbound[element.id]:
                source = self.model.elements[flow.source]
                if source.type == "model":
                    trained |= set(source.properties.get("trained_on", []))
        boundary = self.model.boundaries.get(element.boundary or "")
        return {
            "id": element.id,
            "type": element.type,
            "data": frozenset(data),
            "trained_on": frozenset(trained),
            "boundary": element.boundary or "(none)",
            "boundary_trust": boundary.trust if boundary else "untrusted",
            "exposed": any(self.crosses(f) for f in self.inbound[element.id]),
            "ingests_cross_boundary": element.id in self.fed_from_outside,
            "inbound_untrusted_content": any(
                bool(f.properties.get("untrusted_content")) for f in self.inbound[element.id]
            ),
            "controls": self.element_controls(element),
        }

    def element_controls(self, element: Element) -> frozenset[str]:
        """Claimed controls: the element's, system-wide ones, those claimed on flows into it
        (e.g. a guard in front of an LLM) and intrinsic ones of models it serves."""
        inherited: set[str] = set()
        for flow in self.inbound[element.id]:
            inherited |= flow.controls
            source = self.model.elements[flow.source]
            if source.type == "model":
                inherited |= source.controls & MODEL_INTRINSIC_CONTROLS
        return element.controls | self.model.system_controls | inherited

    def element_resolver(self, element: Element) -> Callable[[str], Any]:
        facts = self.element_facts[element.id]

        def resolve(name: str) -> Any:
            if name.startswith("properties."):
                return element.properties.get(name[11:], MISSING)
            return facts.get(name, MISSING)

        return resolve

    def flow_controls(self, flow: Flow) -> frozenset[str]:
        elements = self.model.elements
        return (
            flow.controls
            | flow.implied_controls
            | elements[flow.source].controls
            | elements[flow.target].controls
            | self.model.system_controls
        )

    def flow_resolver(self, flow: Flow) -> Callable[[str], Any]:
        source = self.element_resolver(self.model.elements[flow.source])
        target = self.element_resolver(self.model.elements[flow.target])
        facts = {
            "data": flow.data,
            "protocol": flow.protocol,
            "authentication": flow.authentication,
            "encrypted": flow.encrypted,
            "crosses_boundary": self.crosses(flow),
            "controls": flow.controls | flow.implied_controls,
        }

        def resolve(name: str) -> Any:
            if name.startswith("source."):
                return source(name[7:])
            if name.startswith("target."):
                return target(name[7:])
            if name.startswith("properties."):
                return flow.properties.get(name[11:], MISSING)
            return facts.get(name, MISSING)

        return resolve


def _control_state(
    control: str, claimed: frozenset[str], evidence: dict[str, ControlEvidence]
) -> str:
    if control not in claimed:
        return "not-claimed"
    record = evidence.get(control)
    if record is None or record.effective:
        return "effective"
    return record.status


def find_threats(
    model: SystemModel, catalogue: Catalogue, evidence: dict[str, ControlEvidence]
) -> list[Threat]:
    """Every threat instance (including suppressed ones), sorted by target then rule."""
    views = _Views(model)
    targets: list[tuple[str, str, str, Callable[[str], Any], frozenset[str], tuple[Any, ...]]] = []
    for element in model.elements.values():
        targets.append(
            (
                "element",
                element.id,
                element.name,
                views.element_resolver(element),
                views.element_controls(element),
                element.assumptions,
            )
        )
    for flow in model.flows.values():
        targets.append(
            (
                "flow",
                flow.id,
                flow.name,
                views.flow_resolver(flow),
                views.flow_controls(flow),
                flow.assumptions,
            )
        )
    rules_by_scope = {
        scope: [r for r in catalogue.rules if r.scope == scope] for scope in ("element", "flow")
    }
    threats: list[Threat] = []
    for kind, target_id, name, resolve, claimed, assumptions in targets:
        for rule in rules_by_scope[kind]:
            matched, why = rule.when.evaluate(resolve)
            if not matched:
                continue
            likelihood, impact = rule.likelihood, rule.impact
            notes = []
            for adjustment in rule.adjustments:
                applies, _ = adjustment.when.evaluate(resolve)
                if applies:
                    likelihood += adjustment.likelihood
                    impact += adjustment.impact
                    deltas = []
                    if adjustment.likelihood:
                        deltas.append(f"likelihood {adjustment.likelihood:+d}")
                    if adjustment.impact:
                        deltas.append(f"impact {adjustment.impact:+d}")
                    notes.append(f"{adjustment.because} ({', '.join(deltas)})")
            rationale = rule.rationale + (
                "" if not notes else " Adjusted: " + "; ".join(notes) + "."
            )
            mitigations = tuple(
                MitigationState(c, _control_state(c, claimed, evidence)) for c in rule.mitigations
            )
            suppressed = None
            for assumption in assumptions:
                if assumption.rule == rule.id or (
                    assumption.atlas and assumption.atlas in rule.atlas
                ):
                    suppressed = f"assumption: {assumption.reason}"
                    break
            if suppressed is None:
                for control in rule.suppressed_by:
                    if _control_state(control, claimed, evidence) == "effective":
                        suppressed = f"control {control} is claimed" + (
                            " and verified"
                            if control in evidence and evidence[control].declared_check
                            else ""
                        )
                        break
            threats.append(
                Threat(
                    id=threat_id(rule.id, target_id),
                    rule=rule,
                    target_kind=kind,
                    target=target_id,
                    target_name=name,
                    why=tuple(why),
                    likelihood=_clamp(likelihood),
                    impact=_clamp(impact),
                    rationale=rationale,
                    mitigations=mitigations,
                    suppressed=suppressed,
                )
            )
    threats.sort(key=lambda t: (t.target_kind, t.target, t.rule.id))
    return threats


def crossing_flows(model: SystemModel) -> set[str]:
    """Ids of flows that cross a trust boundary."""
    views = _Views(model)
    return {f.id for f in model.flows.values() if views.crosses(f)}

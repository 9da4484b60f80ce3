"""One assessment: model → evidence → threats → register → coverage and tier."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.core.errors import ValidationError
from bastion.risk.catalogue import Catalogue, default_catalogue
from bastion.risk.coverage import CoverageRow, coverage, eu_ai_act_tier
from bastion.risk.engine import Threat, crossing_flows, find_threats
from bastion.risk.evidence import ControlEvidence, gather_evidence
from bastion.risk.model import Element, Flow, SystemModel, load_system
from bastion.risk.register import merge, read_register

DEFAULT_OWNERS = {
    "stride": "security-officer",
    "linddun": "privacy-officer",
    "ml": "ml-lead",
    "llm": "ml-lead",
}


@dataclass
class Assessment:
    """Everything a report is made from."""

    model: SystemModel
    catalogue: Catalogue
    evidence: dict[str, ControlEvidence]
    threats: list[Threat]
    register: dict[str, Any]
    coverage: dict[str, list[CoverageRow]]
    tier: dict[str, Any]
    crossing: set[str]
    as_of: str | None

    @property
    def active(self) -> list[dict[str, Any]]:
        """Register entries of threats that still fire."""
        return [e for e in self.register["entries"] if e["state"] == "active"]

    @property
    def suppressed(self) -> list[Threat]:
        """Threats removed by a claimed control or a stated assumption."""
        return [t for t in self.threats if t.suppressed is not None]


def _check_assumption_rules(model: SystemModel, catalogue: Catalogue) -> None:
    """An assumption naming a rule that does not exist would silently suppress nothing."""
    known = {rule.id for rule in catalogue.rules}
    targets: list[Element | Flow] = [*model.elements.values(), *model.flows.values()]
    for target in targets:
        for assumption in target.assumptions:
            if assumption.rule is not None and assumption.rule not in known:
                raise ValidationError(
                    f"unknown rule {assumption.rule!r} in assumption; see `bastion risk rules`",
                    file=assumption.file or None,
                    line=assumption.line or None,
                    field=f"{target.id}.assumptions.rule",
                )


def assess(
    system: Path,
    *,
    previous_register: Path | None = None,
    as_of: str | None = None,
    catalogue: Catalogue | None = None,
) -> Assessment:
    """Run a full assessment; ``previous_register`` carries people's edits forward."""
    catalogue = catalogue or default_catalogue()
    model = load_system(system, controls=catalogue.controls, atlas=catalogue.atlas)
    _check_assumption_rules(model, catalogue)
    tier = eu_ai_act_tier(model)
    previous = (
        read_register(previous_register)
        if previous_register and previous_register.is_file()
        else None
    )
    evidence = gather_evidence(model, as_of)
    threats = find_threats(model, catalogue, evidence)
    owners = {**DEFAULT_OWNERS, **model.owners}
    register = merge(previous, threats, owners, catalogue, model.name)
    return Assessment(
        model=model,
        catalogue=catalogue,
        evidence=evidence,
        threats=threats,
        register=register,
        coverage=coverage(model, catalogue, evidence),
        tier=tier,
        crossing=crossing_flows(model),
        as_of=as_of,
    )

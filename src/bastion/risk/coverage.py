"""Framework coverage and the EU AI Act risk tier.

Coverage answers, per framework requirement, whether a claimed control maps to
it, whether that control has verified evidence, or whether nothing does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bastion.core.errors import ValidationError
from bastion.risk.catalogue import Catalogue
from bastion.risk.evidence import ControlEvidence
from bastion.risk.model import SystemModel
from bastion.risk.yamlsrc import where

ANNEX_III_AREAS = {
    "1": "Biometrics",
    "2": "Critical infrastructure",
    "3": "Education and vocational training",
    "4": "Employment, workers' management and access to self-employment",
    "5": (
        "Access to and enjoyment of essential private services "
        "and essential public services and benefits"
    ),
    "6": "Law enforcement",
    "7": "Migration, asylum and border control management",
    "8": "Administration of justice and democratic processes",
}
PROHIBITED = {
    "a": "subliminal, manipulative or deceptive techniques causing significant harm",
    "b": "exploiting vulnerabilities due to age, disability or social or economic situation",
    "c": "social scoring leading to detrimental or unfavourable treatment",
    "d": "assessing the risk of a person committing a criminal offence based solely on profiling",
    "e": "untargeted scraping of facial images to build facial recognition databases",
    "f": "emotion recognition in the workplace or education institutions",
    "g": "biometric categorisation inferring sensitive characteristics",
    "h": "real-time remote biometric identification in public spaces for law enforcement",
}
_ANNEX_III = re.compile(r"^([1-8])(\([a-e]\))?$")
_EU_KEYS = {
    "prohibited_practices",
    "annex_i_product",
    "annex_iii",
    "interacts_with_people",
    "synthetic_content",
    "emotion_recognition",
    "biometric_categorisation",
    "deep_fake",
}


@dataclass(frozen=True)
class CoverageRow:
    """One framework requirement and what covers it."""

    id: str
    title: str
    controls: tuple[str, ...]
    claimed: tuple[str, ...]
    status: str  # evidenced | claimed | failing | none


def coverage(
    model: SystemModel, catalogue: Catalogue, evidence: dict[str, ControlEvidence]
) -> dict[str, list[CoverageRow]]:
    """Coverage rows for every framework, in the framework's own order."""
    claimed_all = model.claimed_controls()
    result: dict[str, list[CoverageRow]] = {}
    for fid, framework in catalogue.frameworks.items():
        rows = []
        for requirement in framework.requirements:
            controls = tuple(
                sorted(
                    c.id
                    for c in catalogue.controls.values()
                    if requirement.id in c.maps.get(fid, ())
                )
            )
            claimed = tuple(c for c in controls if c in claimed_all)
            states = [evidence.get(c) for c in claimed]
            if any(s is not None and s.status == "verified" for s in states):
                status = "evidenced"
            elif any(s is None or s.effective for s in states):
                status = "claimed"
            elif claimed:
                status = "failing"
            else:
                status = "none"
            rows.append(CoverageRow(requirement.id, requirement.title, controls, claimed, status))
        result[fid] = rows
    return result


def _flag(eu: Any, key: str) -> bool:
    value = eu.get(key, False)
    if not isinstance(value, bool):
        raise ValidationError(
            f"'{key}' must be true or false", field=f"system.eu_ai_act.{key}", **where(eu, key)
        )
    return value


def eu_ai_act_tier(model: SystemModel) -> dict[str, Any]:
    """Determine the EU AI Act tier from declared properties; explains the basis."""
    eu = model.eu_ai_act
    for key in eu:
        if key not in _EU_KEYS:
            raise ValidationError(
                f"unknown key {key!r} (allowed: {', '.join(sorted(_EU_KEYS))})",
                field=f"system.eu_ai_act.{key}",
                **where(eu, key),
            )
    prohibited = [str(p) for p in eu.get("prohibited_practices", []) or []]
    for letter in prohibited:
        if letter not in PROHIBITED:
            raise ValidationError(
                f"unknown Art. 5(1) point {letter!r} (a–h)",
                field="system.eu_ai_act.prohibited_practices",
                **where(eu, "prohibited_practices"),
            )
    annex_iii = [str(p) for p in eu.get("annex_iii", []) or []]
    for point in annex_iii:
        if not _ANNEX_III.match(point):
            raise ValidationError(
                f"unknown Annex III point {point!r} (e.g. 5(d))",
                field="system.eu_ai_act.annex_iii",
                **where(eu, "annex_iii"),
            )
    transparency = []
    if _flag(eu, "interacts_with_people"):
        transparency.append(
            "Art. 50(1): people must be told they are interacting with an AI system"
        )
    if _flag(eu, "synthetic_content"):
        transparency.append(
            "Art. 50(2): synthetic content must be marked as artificially generated"
        )
    if _flag(eu, "emotion_recognition") or _flag(eu, "biometric_categorisation"):
        transparency.append(
            "Art. 50(3): exposed persons must be informed of the system's operation"
        )
    if _flag(eu, "deep_fake"):
        transparency.append("Art. 50(4): deep fakes must be disclosed as artificially generated")
    basis: list[str] = []
    if prohibited:
        tier = "prohibited"
        basis = [f"Art. 5(1)({p}): {PROHIBITED[p]}" for p in prohibited]
    elif eu.get("annex_i_product") or annex_iii:
        tier = "high-risk"
        if eu.get("annex_i_product"):
            basis.append(
                f"Art. 6(1) and Annex I: safety component or product under {eu['annex_i_product']}"
            )
        basis += [f"Art. 6(2) and Annex III point {p}: {ANNEX_III_AREAS[p[0]]}" for p in annex_iii]
    elif transparency:
        tier = "transparency"
        basis = list(transparency)
    else:
        tier = "minimal"
        basis = [
            "no prohibited practice, no Annex I product, no Annex III use, "
            "no Art. 50 trigger declared"
        ]
    return {
        "tier": tier,
        "basis": basis,
        "transparency_obligations": transparency,
        "requirements": "Articles 9–15 apply"
        if tier == "high-risk"
        else "Articles 9–15 do not apply",
    }

"""Rules, controls, frameworks and playbooks shipped as data files, cross-checked on load.

Rule files and the control catalogue are data, not code: a rule's condition is
compiled by ``conditions`` and every identifier it names (controls, ATLAS
techniques, OWASP items, playbooks) must exist, or loading fails with a location.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from bastion.core.errors import ValidationError
from bastion.risk.atlas import AtlasCatalogue, load_atlas
from bastion.risk.conditions import Condition, compile_condition
from bastion.risk.yamlsrc import LocatedDict, load_file, load_text, where

ELEMENT_FIELDS = frozenset(
    {
        "type",
        "id",
        "data",
        "trained_on",
        "boundary",
        "boundary_trust",
        "exposed",
        "ingests_cross_boundary",
        "inbound_untrusted_content",
        "controls",
    }
)
FLOW_FIELDS = frozenset(
    {"data", "protocol", "authentication", "encrypted", "crosses_boundary", "controls"}
)
CATEGORIES = ("stride", "linddun", "ml", "llm")
STRIDE = {
    "S": "Spoofing",
    "T": "Tampering",
    "R": "Repudiation",
    "I": "Information disclosure",
    "D": "Denial of service",
    "E": "Elevation of privilege",
}
LINDDUN = {
    "linking": "Linking",
    "identifying": "Identifying",
    "non-repudiation": "Non-repudiation",
    "detecting": "Detecting",
    "data-disclosure": "Data disclosure",
    "unawareness": "Unawareness & unintervenability",
    "non-compliance": "Non-compliance",
}


def element_field(name: str) -> bool:
    """Whether ``name`` is a field a condition over an element may read."""
    return name in ELEMENT_FIELDS or (name.startswith("properties.") and len(name) > 11)


def flow_field(name: str) -> bool:
    """Whether ``name`` is a field a condition over a flow may read."""
    if name in FLOW_FIELDS or (name.startswith("properties.") and len(name) > 11):
        return True
    for prefix in ("source.", "target."):
        if name.startswith(prefix):
            return element_field(name[len(prefix) :])
    return False


@dataclass(frozen=True)
class Adjustment:
    """A conditional change to a rule's base likelihood or impact, with its reason."""

    when: Condition
    likelihood: int
    impact: int
    because: str


@dataclass(frozen=True)
class Rule:
    """A threat rule read from a data file."""

    id: str
    title: str
    scope: str
    category: str
    when: Condition
    likelihood: int
    impact: int
    rationale: str
    adjustments: tuple[Adjustment, ...]
    mitigations: tuple[str, ...]
    suppressed_by: tuple[str, ...]
    stride: tuple[str, ...]
    linddun: tuple[str, ...]
    atlas: tuple[str, ...]
    owasp_llm: tuple[str, ...]
    owasp_ml: tuple[str, ...]
    playbook: str
    file: str
    line: int


@dataclass(frozen=True)
class Control:
    """A control from the catalogue."""

    id: str
    title: str
    reduces_likelihood: int
    reduces_impact: int
    maps: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Requirement:
    """One requirement of a framework (id and title)."""

    id: str
    title: str


@dataclass(frozen=True)
class Framework:
    """A framework the controls map to."""

    id: str
    title: str
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class Playbook:
    """What to watch and do for a family of threats."""

    id: str
    title: str
    watch: tuple[str, ...]
    threshold: str
    page: tuple[str, ...]
    first_steps: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    """Everything the engine needs besides the system model."""

    rules: tuple[Rule, ...]
    controls: dict[str, Control]
    frameworks: dict[str, Framework]
    playbooks: dict[str, Playbook]
    atlas: AtlasCatalogue


def _score(node: LocatedDict, key: str, ctx: str) -> int:
    value = node.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise ValidationError(
            f"'{key}' must be an integer from 1 to 5, got {value!r}",
            field=f"{ctx}.{key}",
            **where(node, key),
        )
    return value


def _strings(node: LocatedDict, key: str, ctx: str) -> tuple[str, ...]:
    value = node.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(
            f"'{key}' must be a list of strings", field=f"{ctx}.{key}", **where(node, key)
        )
    return tuple(value)


def _require(node: LocatedDict, key: str, ctx: str) -> Any:
    if key not in node:
        raise ValidationError(f"'{key}' is required", field=f"{ctx}.{key}", **where(node))
    return node[key]


def _parse_rule(node: Any, ctx: str, catalogue_ids: dict[str, Any]) -> Rule:
    if not isinstance(node, LocatedDict):
        raise ValidationError("a rule must be a mapping", field=ctx, **where(node))
    allowed = {
        "id",
        "title",
        "scope",
        "category",
        "when",
        "likelihood",
        "impact",
        "rationale",
        "adjust",
        "mitigations",
        "suppressed_by",
        "stride",
        "linddun",
        "atlas",
        "owasp_llm",
        "owasp_ml",
        "playbook",
    }
    for key in node:
        if key not in allowed:
            raise ValidationError(
                f"unknown rule key {key!r}", field=f"{ctx}.{key}", **where(node, key)
            )
    rule_id = str(_require(node, "id", ctx))
    ctx = f"rules[{rule_id}]"
    scope = _require(node, "scope", ctx)
    if scope not in ("element", "flow"):
        raise ValidationError(
            "'scope' must be element or flow", field=f"{ctx}.scope", **where(node, "scope")
        )
    allowed_field = element_field if scope == "element" else flow_field
    category = _require(node, "category", ctx)
    if category not in CATEGORIES:
        raise ValidationError(
            f"unknown category {category!r}", field=f"{ctx}.category", **where(node, "category")
        )
    adjustments = []
    for index, raw in enumerate(node.get("adjust", []) or []):
        actx = f"{ctx}.adjust[{index}]"
        if not isinstance(raw, LocatedDict):
            raise ValidationError(
                "an adjustment must be a mapping", field=actx, **where(node, "adjust")
            )
        adjustments.append(
            Adjustment(
                when=compile_condition(_require(raw, "when", actx), allowed_field, f"{actx}.when"),
                likelihood=int(raw.get("likelihood", 0)),
                impact=int(raw.get("impact", 0)),
                because=str(_require(raw, "because", actx)),
            )
        )
    rule = Rule(
        id=rule_id,
        title=str(_require(node, "title", ctx)),
        scope=scope,
        category=category,
        when=compile_condition(_require(node, "when", ctx), allowed_field, f"{ctx}.when"),
        likelihood=_score(node, "likelihood", ctx),
        impact=_score(node, "impact", ctx),
        rationale=str(_require(node, "rationale", ctx)),
        adjustments=tuple(adjustments),
        mitigations=_strings(node, "mitigations", ctx),
        suppressed_by=_strings(node, "suppressed_by", ctx),
        stride=_strings(node, "stride", ctx),
        linddun=_strings(node, "linddun", ctx),
        atlas=_strings(node, "atlas", ctx),
        owasp_llm=_strings(node, "owasp_llm", ctx),
        owasp_ml=_strings(node, "owasp_ml", ctx),
        playbook=str(_require(node, "playbook", ctx)),
        file=node.file,
        line=node.line,
    )
    checks: list[tuple[str, tuple[str, ...], Any]] = [
        ("mitigations", rule.mitigations, catalogue_ids["controls"]),
        ("suppressed_by", rule.suppressed_by, catalogue_ids["controls"]),
        ("stride", rule.stride, STRIDE),
        ("linddun", rule.linddun, LINDDUN),
        ("atlas", rule.atlas, catalogue_ids["atlas"]),
        ("owasp_llm", rule.owasp_llm, catalogue_ids["owasp-llm"]),
        ("owasp_ml", rule.owasp_ml, catalogue_ids["owasp-ml"]),
        ("playbook", (rule.playbook,), catalogue_ids["playbooks"]),
    ]
    for key, values, known in checks:
        for value in values:
            if value not in known:
                label = "ATLAS id" if key == "atlas" else f"{key} id"
                raise ValidationError(
                    f"unknown {label} {value!r}", field=f"{ctx}.{key}", **where(node, key)
                )
    return rule


def _data_file(name: str) -> tuple[str, str]:
    resource = resources.files("bastion.risk") / "data" / name
    return resource.read_text(encoding="utf-8"), f"bastion/risk/data/{name}"


def parse_frameworks(document: Any, atlas: AtlasCatalogue) -> dict[str, Framework]:
    """Frameworks from frameworks.yaml plus ATLAS mitigations as the 'atlas' framework."""
    result: dict[str, Framework] = {}
    for raw in document["frameworks"]:
        reqs = tuple(Requirement(str(r["id"]), str(r["title"])) for r in raw["requirements"])
        result[raw["id"]] = Framework(raw["id"], raw["title"], reqs)
    result["atlas"] = Framework(
        "atlas",
        f"MITRE ATLAS {atlas.version} mitigations",
        tuple(Requirement(e.id, e.title) for e in atlas.of_kind("mitigation")),
    )
    return result


def parse_controls(document: Any, frameworks: dict[str, Framework]) -> dict[str, Control]:
    """The control catalogue, with every framework mapping checked."""
    result: dict[str, Control] = {}
    for index, raw in enumerate(document["controls"]):
        ctx = f"controls[{index}]"
        cid = str(_require(raw, "id", ctx))
        reduces = raw.get("reduces") or {}
        maps: dict[str, tuple[str, ...]] = {}
        for fid, ids in (raw.get("maps") or {}).items():
            if fid not in frameworks:
                raise ValidationError(
                    f"unknown framework {fid!r}",
                    field=f"controls[{cid}].maps",
                    **where(raw, "maps"),
                )
            known = {r.id for r in frameworks[fid].requirements}
            for rid in ids:
                if rid not in known:
                    raise ValidationError(
                        f"unknown {fid} requirement {rid!r}",
                        field=f"controls[{cid}].maps.{fid}",
                        **where(raw, "maps"),
                    )
            maps[fid] = tuple(ids)
        result[cid] = Control(
            cid,
            str(raw["title"]),
            int(reduces.get("likelihood", 0)),
            int(reduces.get("impact", 0)),
            maps,
        )
    return result


def load_rules_from(paths: list[tuple[str, str]], ids: dict[str, Any]) -> tuple[Rule, ...]:
    """Parse rule documents (text, source name) into rules; ids must be unique."""
    rules: dict[str, Rule] = {}
    for text, source in paths:
        document = load_text(text, source)
        if not isinstance(document, LocatedDict) or not isinstance(document.get("rules"), list):
            raise ValidationError("a rule file needs a 'rules' list", file=source, field="rules")
        for index, raw in enumerate(document["rules"]):
            rule = _parse_rule(raw, f"rules[{index}]", ids)
            if rule.id in rules:
                raise ValidationError(
                    f"duplicate rule id {rule.id!r}",
                    field=f"rules[{rule.id}].id",
                    **where(raw, "id"),
                )
            rules[rule.id] = rule
    return tuple(rules[k] for k in sorted(rules))


def build_catalogue(extra_rule_files: tuple[Path, ...] = ()) -> Catalogue:
    """Load the shipped data (and any extra rule files) into a cross-checked catalogue."""
    atlas = load_atlas()
    frameworks = parse_frameworks(load_text(*_data_file("frameworks.yaml")), atlas)
    controls = parse_controls(load_text(*_data_file("controls.yaml")), frameworks)
    playbooks = {
        str(p["id"]): Playbook(
            str(p["id"]),
            str(p["title"]),
            tuple(p["watch"]),
            str(p["threshold"]),
            tuple(p["page"]),
            tuple(p["first_steps"]),
        )
        for p in load_text(*_data_file("playbooks.yaml"))["playbooks"]
    }
    ids: dict[str, Any] = {
        "controls": controls,
        "atlas": atlas,
        "owasp-llm": {r.id for r in frameworks["owasp-llm"].requirements},
        "owasp-ml": {r.id for r in frameworks["owasp-ml"].requirements},
        "playbooks": playbooks,
    }
    rule_dir = resources.files("bastion.risk") / "data" / "rules"
    sources = [
        (entry.read_text(encoding="utf-8"), f"bastion/risk/data/rules/{entry.name}")
        for entry in sorted(rule_dir.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    ]
    for path in extra_rule_files:
        document = load_file(path)  # validates syntax with the right file name
        del document
        sources.append((path.read_text(encoding="utf-8"), str(path)))
    rules = load_rules_from(sources, ids)
    return Catalogue(rules, controls, frameworks, playbooks, atlas)


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The shipped catalogue, loaded once per process."""
    return build_catalogue()

"""The system model: elements, flows and trust boundaries read from YAML and validated.

Every error names the file, line and field, so a workshop can fix the model
without guessing; nothing downstream runs on a model that failed validation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastion.core.errors import ValidationError
from bastion.risk.atlas import AtlasCatalogue, load_atlas
from bastion.risk.yamlsrc import LocatedDict, LocatedList, load_file, where

ELEMENT_TYPES = (
    "actor",
    "external_entity",
    "process",
    "data_store",
    "dataset",
    "feature_store",
    "model",
    "inference_endpoint",
    "llm",
    "agent",
    "third_party_model_api",
)
CLASSIFICATIONS = (
    "phi",
    "pii",
    "deidentified",
    "credentials",
    "model_weights",
    "confidential",
    "internal",
    "public",
)
TRUST_LEVELS = ("trusted", "restricted", "untrusted", "third_party")
ENCRYPTED_PROTOCOLS = frozenset(
    {"https", "tls", "mtls", "grpcs", "sftp", "ssh", "wss", "postgresql+tls", "s3+tls", "local"}
)
PLAINTEXT_PROTOCOLS = frozenset({"http", "ftp", "grpc", "ws", "tcp", "smtp", "postgresql", "nfs"})
AUTH_METHODS = (
    "none",
    "api_key",
    "oauth2",
    "mtls",
    "password",
    "service_account",
    "session",
    "local",
)
CHECK_KINDS = ("audit_log_verifies", "gateway_config", "models_signed", "dataset_pseudonymizes")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_TOP_KEYS = {"system", "include", "boundaries", "elements", "flows", "evidence"}


@dataclass(frozen=True)
class Assumption:
    """A stated reason why a rule (or an ATLAS technique) does not apply to an element or flow."""

    reason: str
    rule: str | None = None
    atlas: str | None = None
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Boundary:
    """A trust boundary that elements sit in."""

    id: str
    name: str
    trust: str
    file: str
    line: int


@dataclass
class Element:
    """An actor, process, store or ML asset."""

    id: str
    name: str
    type: str
    boundary: str | None
    data: frozenset[str]
    controls: frozenset[str]
    properties: dict[str, Any]
    assumptions: tuple[Assumption, ...]
    file: str
    line: int
    description: str = ""


@dataclass
class Flow:
    """A data flow between two elements."""

    id: str
    name: str
    source: str
    target: str
    data: frozenset[str]
    protocol: str
    authentication: str
    encrypted: bool
    controls: frozenset[str]
    implied_controls: frozenset[str]
    properties: dict[str, Any]
    assumptions: tuple[Assumption, ...]
    file: str
    line: int


@dataclass(frozen=True)
class EvidenceCheck:
    """A check Bastion runs to verify a claimed control."""

    control: str
    kind: str
    path: Path | None
    config: Path | None
    file: str
    line: int


@dataclass
class SystemModel:
    """A validated system model."""

    name: str
    description: str
    source: Path
    files: tuple[Path, ...]
    boundaries: dict[str, Boundary]
    elements: dict[str, Element]
    flows: dict[str, Flow]
    system_controls: frozenset[str]
    owners: dict[str, str]
    eu_ai_act: dict[str, Any]
    evidence: tuple[EvidenceCheck, ...]
    properties: dict[str, Any] = field(default_factory=dict)

    def claimed_controls(self) -> frozenset[str]:
        """Every control claimed anywhere in the model."""
        claimed = set(self.system_controls)
        for element in self.elements.values():
            claimed |= element.controls
        for flow in self.flows.values():
            claimed |= flow.controls | flow.implied_controls
        return frozenset(claimed)


def _str(
    node: LocatedDict, key: str, context: str, *, required: bool = True, default: str = ""
) -> str:
    value = node.get(key)
    if value is None:
        if required:
            raise ValidationError(f"'{key}' is required", field=f"{context}.{key}", **where(node))
        return default
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValidationError(f"'{key}' must be text", field=f"{context}.{key}", **where(node, key))
    return str(value)


def _id(node: LocatedDict, context: str) -> str:
    value = _str(node, "id", context)
    if not _ID.match(value):
        raise ValidationError(
            f"invalid id {value!r} (letters, digits, . _ : -)",
            field=f"{context}.id",
            **where(node, "id"),
        )
    return value


def _list(node: LocatedDict, key: str, context: str) -> list[Any]:
    value = node.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(
            f"'{key}' must be a list", field=f"{context}.{key}", **where(node, key)
        )
    return value


def _mapping(node: Any, context: str) -> LocatedDict:
    if not isinstance(node, LocatedDict):
        raise ValidationError("expected a mapping", field=context, **where(node))
    return node


def _check_keys(node: LocatedDict, allowed: Iterable[str], context: str) -> None:
    allowed_set = set(allowed)
    for key in node:
        if key not in allowed_set:
            raise ValidationError(
                f"unknown key {key!r} (allowed: {', '.join(sorted(allowed_set))})",
                field=f"{context}.{key}",
                **where(node, key),
            )


def _classifications(node: LocatedDict, key: str, context: str) -> frozenset[str]:
    values = _list(node, key, context)
    for value in values:
        if value not in CLASSIFICATIONS:
            raise ValidationError(
                f"unknown data classification {value!r} (known: {', '.join(CLASSIFICATIONS)})",
                field=f"{context}.{key}",
                **where(node, key),
            )
    return frozenset(str(v) for v in values)


def _controls(node: LocatedDict, context: str, known: Mapping[str, Any]) -> frozenset[str]:
    values = _list(node, "controls", context)
    for value in values:
        if value not in known:
            raise ValidationError(
                f"unknown control {value!r}; see `bastion risk controls`",
                field=f"{context}.controls",
                **where(node, "controls"),
            )
    return frozenset(str(v) for v in values)


def _assumptions(node: LocatedDict, context: str, atlas: AtlasCatalogue) -> tuple[Assumption, ...]:
    result = []
    for index, raw in enumerate(_list(node, "assumptions", context)):
        ctx = f"{context}.assumptions[{index}]"
        item = _mapping(raw, ctx)
        _check_keys(item, ("rule", "atlas", "reason"), ctx)
        reason = _str(item, "reason", ctx).strip()
        if not reason:
            raise ValidationError(
                "an assumption needs a reason", field=f"{ctx}.reason", **where(item, "reason")
            )
        rule = item.get("rule")
        technique = item.get("atlas")
        if (rule is None) == (technique is None):
            raise ValidationError("name exactly one of 'rule' or 'atlas'", field=ctx, **where(item))
        if technique is not None and technique not in atlas:
            raise ValidationError(
                f"unknown ATLAS id {technique!r}", field=f"{ctx}.atlas", **where(item, "atlas")
            )
        result.append(
            Assumption(reason=reason, rule=rule, atlas=technique, file=item.file, line=item.line)
        )
    return tuple(result)


def _properties(node: LocatedDict, context: str) -> dict[str, Any]:
    value = node.get("properties", {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(
            "'properties' must be a mapping",
            field=f"{context}.properties",
            **where(node, "properties"),
        )
    return dict(value)


class _Collector:
    """Reads a root file and its includes into raw lists, detecting cycles."""

    def __init__(self) -> None:
        self.files: list[Path] = []
        self.system: LocatedDict | None = None
        self.sections: dict[str, list[Any]] = {
            "boundaries": [],
            "elements": [],
            "flows": [],
            "evidence": [],
        }

    def read(
        self, path: Path, stack: tuple[Path, ...], include_site: tuple[str, int] | None
    ) -> None:
        resolved = path.resolve()
        if resolved in stack:
            chain = " -> ".join(p.name for p in (*stack, resolved))
            file, line = include_site or (str(path), 0)
            raise ValidationError(
                f"include cycle: {chain}", file=file, line=line or None, field="include"
            )
        if not path.is_file():
            if include_site is None:
                raise ValidationError("system model file not found", file=str(path))
            raise ValidationError(
                f"included file not found: {path}",
                file=include_site[0],
                line=include_site[1] or None,
                field="include",
            )
        document = load_file(path)
        if document is None:
            document = LocatedDict()
            document.file, document.line, document.key_lines = str(path), 1, {}
        root = _mapping(document, "(document)")
        _check_keys(root, _TOP_KEYS, "(document)")
        self.files.append(path)
        if "system" in root:
            if self.system is not None and stack:
                raise ValidationError(
                    "'system' may appear only in the root file",
                    field="system",
                    **where(root, "system"),
                )
            self.system = _mapping(root["system"], "system")
        for section in self.sections:
            self.sections[section].extend(_list(root, section, section))
        for index, target in enumerate(_list(root, "include", "include")):
            if not isinstance(target, str):
                raise ValidationError(
                    "include entries are file paths",
                    field=f"include[{index}]",
                    **where(root, "include"),
                )
            site = (str(path), root.line_of("include"))
            if isinstance(root["include"], LocatedList):
                site = (str(path), root["include"].line + index)
            self.read(path.parent / target, (*stack, resolved), site)


def _derive_encryption(flow: LocatedDict, protocol: str, context: str) -> bool:
    declared = flow.get("encrypted")
    if declared is not None:
        if not isinstance(declared, bool):
            raise ValidationError(
                "'encrypted' must be true or false",
                field=f"{context}.encrypted",
                **where(flow, "encrypted"),
            )
        return declared
    return protocol.lower() in ENCRYPTED_PROTOCOLS


def load_system(
    path: Path, *, controls: Mapping[str, Any], atlas: AtlasCatalogue | None = None
) -> SystemModel:
    """Read, resolve includes and validate a system model."""
    atlas = atlas or load_atlas()
    collector = _Collector()
    collector.read(path, (), None)
    system = collector.system
    if system is None:
        raise ValidationError(
            "missing 'system' section (name, description)", file=str(path), field="system"
        )
    _check_keys(
        system, ("name", "description", "controls", "owners", "eu_ai_act", "properties"), "system"
    )

    boundaries: dict[str, Boundary] = {}
    for index, raw in enumerate(collector.sections["boundaries"]):
        ctx = f"boundaries[{index}]"
        node = _mapping(raw, ctx)
        _check_keys(node, ("id", "name", "trust", "description"), ctx)
        bid = _id(node, ctx)
        trust = _str(node, "trust", ctx, required=False, default="trusted")
        if trust not in TRUST_LEVELS:
            raise ValidationError(
                f"unknown trust level {trust!r} (known: {', '.join(TRUST_LEVELS)})",
                field=f"{ctx}.trust",
                **where(node, "trust"),
            )
        if bid in boundaries:
            raise ValidationError(
                f"duplicate boundary id {bid!r}", field=f"{ctx}.id", **where(node, "id")
            )
        boundaries[bid] = Boundary(
            bid, _str(node, "name", ctx, required=False, default=bid), trust, node.file, node.line
        )

    elements: dict[str, Element] = {}
    for index, raw in enumerate(collector.sections["elements"]):
        ctx = f"elements[{index}]"
        node = _mapping(raw, ctx)
        _check_keys(
            node,
            (
                "id",
                "name",
                "type",
                "boundary",
                "data",
                "controls",
                "properties",
                "assumptions",
                "description",
            ),
            ctx,
        )
        eid = _id(node, ctx)
        ctx = f"elements[{eid}]"
        etype = _str(node, "type", ctx)
        if etype not in ELEMENT_TYPES:
            raise ValidationError(
                f"unknown element type {etype!r} (known: {', '.join(ELEMENT_TYPES)})",
                field=f"{ctx}.type",
                **where(node, "type"),
            )
        boundary = node.get("boundary")
        if boundary is not None and boundary not in boundaries:
            raise ValidationError(
                f"unknown boundary {boundary!r}", field=f"{ctx}.boundary", **where(node, "boundary")
            )
        if eid in elements or eid in boundaries:
            raise ValidationError(f"duplicate id {eid!r}", field=f"{ctx}.id", **where(node, "id"))
        props = _properties(node, ctx)
        if "trained_on" in props:
            trained = LocatedDict(trained_on=props["trained_on"])
            trained.file, trained.line, trained.key_lines = (
                node.file,
                node.line_of("properties"),
                {},
            )
            props["trained_on"] = sorted(
                _classifications(trained, "trained_on", f"{ctx}.properties")
            )
        elements[eid] = Element(
            id=eid,
            name=_str(node, "name", ctx, required=False, default=eid),
            type=etype,
            boundary=boundary,
            data=_classifications(node, "data", ctx),
            controls=_controls(node, ctx, controls),
            properties=props,
            assumptions=_assumptions(node, ctx, atlas),
            file=node.file,
            line=node.line,
            description=_str(node, "description", ctx, required=False),
        )

    flows: dict[str, Flow] = {}
    for index, raw in enumerate(collector.sections["flows"]):
        ctx = f"flows[{index}]"
        node = _mapping(raw, ctx)
        _check_keys(
            node,
            (
                "id",
                "name",
                "from",
                "to",
                "data",
                "protocol",
                "authentication",
                "encrypted",
                "controls",
                "properties",
                "assumptions",
            ),
            ctx,
        )
        fid = _id(node, ctx)
        ctx = f"flows[{fid}]"
        if fid in flows or fid in elements:
            raise ValidationError(f"duplicate id {fid!r}", field=f"{ctx}.id", **where(node, "id"))
        endpoints = []
        for key in ("from", "to"):
            ref = _str(node, key, ctx)
            if ref not in elements:
                raise ValidationError(
                    f"dangling flow endpoint: no element {ref!r}",
                    field=f"{ctx}.{key}",
                    **where(node, key),
                )
            endpoints.append(ref)
        protocol = _str(node, "protocol", ctx, required=False, default="unspecified")
        auth = _str(node, "authentication", ctx, required=False, default="none")
        if auth not in AUTH_METHODS:
            raise ValidationError(
                f"unknown authentication {auth!r} (known: {', '.join(AUTH_METHODS)})",
                field=f"{ctx}.authentication",
                **where(node, "authentication"),
            )
        encrypted = _derive_encryption(node, protocol, ctx)
        implied = set()
        if encrypted:
            implied.add("encryption-in-transit")
        if auth not in ("none", "local"):
            implied.add("strong-authentication")
        flows[fid] = Flow(
            id=fid,
            name=_str(node, "name", ctx, required=False, default=fid),
            source=endpoints[0],
            target=endpoints[1],
            data=_classifications(node, "data", ctx),
            protocol=protocol,
            authentication=auth,
            encrypted=encrypted,
            controls=_controls(node, ctx, controls),
            implied_controls=frozenset(implied),
            properties=_properties(node, ctx),
            assumptions=_assumptions(node, ctx, atlas),
            file=node.file,
            line=node.line,
        )

    evidence = []
    for index, raw in enumerate(collector.sections["evidence"]):
        ctx = f"evidence[{index}]"
        node = _mapping(raw, ctx)
        _check_keys(node, ("control", "check", "path", "config"), ctx)
        control = _str(node, "control", ctx)
        if control not in controls:
            raise ValidationError(
                f"unknown control {control!r}", field=f"{ctx}.control", **where(node, "control")
            )
        kind = _str(node, "check", ctx)
        if kind not in CHECK_KINDS:
            raise ValidationError(
                f"unknown check {kind!r} (known: {', '.join(CHECK_KINDS)})",
                field=f"{ctx}.check",
                **where(node, "check"),
            )
        raw_path = node.get("path")
        raw_config = node.get("config")
        base = Path(node.file).parent
        check_path = base / str(raw_path) if raw_path is not None else None
        config_path = base / str(raw_config) if raw_config is not None else None
        evidence.append(EvidenceCheck(control, kind, check_path, config_path, node.file, node.line))

    owners = system.get("owners") or {}
    if not isinstance(owners, dict):
        raise ValidationError(
            "'owners' must map categories to roles",
            field="system.owners",
            **where(system, "owners"),
        )
    eu = system.get("eu_ai_act") or {}
    if not isinstance(eu, dict):
        raise ValidationError(
            "'eu_ai_act' must be a mapping", field="system.eu_ai_act", **where(system, "eu_ai_act")
        )
    return SystemModel(
        name=_str(system, "name", "system"),
        description=_str(system, "description", "system", required=False),
        source=path,
        files=tuple(collector.files),
        boundaries=boundaries,
        elements=elements,
        flows=flows,
        system_controls=_controls(system, "system", controls),
        owners={str(k): str(v) for k, v in owners.items()},
        eu_ai_act=eu,
        evidence=tuple(evidence),
        properties=_properties(system, "system"),
    )

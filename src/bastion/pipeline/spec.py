"""Dataset specs: what a data set contains, how sensitive each column is, and who may see what.

A spec is YAML (see ``docs/pipeline.md``).  Parsing is strict: unknown keys,
unknown transforms or estimators, undeclared columns and identifiers left raw
are errors that name the file, the line and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastion.core.crypto import sha256_hex
from bastion.core.errors import ValidationError
from bastion.pipeline.estimators import EstimatorSpecError, build_estimator
from bastion.pipeline.transforms import (
    DIRECT_IDENTIFIER_TRANSFORMS,
    GENERALIZE,
    GENERALIZERS,
    KEEP,
    TRANSFORM_KINDS,
    TransformSpec,
)
from bastion.pipeline.yamlpos import Located, Path_, load_located

CLASSIFICATIONS = frozenset(
    {"direct_identifier", "quasi_identifier", "sensitive", "feature", "label"}
)
DTYPES = frozenset({"string", "text", "integer", "float", "boolean", "date", "category"})
FORMATS = frozenset({"csv", "parquet"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Dataset and model names may have path-like segments (``clinical/patients``) to match
# access-policy resources; every segment starts with a letter or digit, so no ``..``.
_SEGMENTED_NAME = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,7}$"
)


@dataclass(frozen=True)
class ColumnSpec:
    """One declared column."""

    name: str
    classification: str
    dtype: str


@dataclass(frozen=True)
class PurposeSpec:
    """The columns one purpose may read, each with its transform (``keep`` = as is)."""

    name: str
    transforms: dict[str, TransformSpec]

    @property
    def read_columns(self) -> list[str]:
        """Columns read from the file: every allowed column except those dropped."""
        return [name for name, spec in self.transforms.items() if spec.kind != "drop"]


@dataclass(frozen=True)
class TrainingSpec:
    """How a model is trained from the spec's data."""

    model_name: str
    purpose: str
    estimator: str
    params: dict[str, Any]
    test_size: float
    seed: int


@dataclass(frozen=True)
class DatasetSpec:
    """A validated dataset spec."""

    name: str
    source_path: Path
    source_format: str
    columns: dict[str, ColumnSpec]
    label: str | None
    purposes: dict[str, PurposeSpec]
    training: TrainingSpec | None
    spec_file: Path
    spec_sha256: str
    lines: dict[Path_, int] = field(default_factory=dict, repr=False, compare=False)

    def purpose(self, name: str) -> PurposeSpec:
        """The named purpose, or a ``ValidationError`` listing the ones that exist."""
        try:
            return self.purposes[name]
        except KeyError:
            known = ", ".join(sorted(self.purposes)) or "none"
            raise ValidationError(
                f"purpose {name!r} is not declared (declared: {known})",
                file=str(self.spec_file),
                line=self.lines.get(("purposes",)),
                field="purposes",
            ) from None


def _mapping(
    doc: Located, value: Any, path: Path_, allowed: set[str], required: set[str]
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise doc.error(path, "expected a mapping")
    for key in value:
        if key not in allowed:
            raise doc.error((*path, key), f"unknown key (allowed: {', '.join(sorted(allowed))})")
    for key in sorted(required):
        if key not in value:
            raise doc.error(path, f"missing required key {key!r}")
    return value


def _string(doc: Located, value: Any, path: Path_, choices: frozenset[str] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise doc.error(path, "expected a non-empty string")
    if choices is not None and value not in choices:
        raise doc.error(path, f"{value!r} is not one of {', '.join(sorted(choices))}")
    return value


def _transform(doc: Located, value: Any, path: Path_) -> TransformSpec:
    line = doc.line(path)
    if isinstance(value, str):
        kind, option, params = value, None, dict[str, Any]()
    elif isinstance(value, dict) and len(value) == 1:
        kind, raw = next(iter(value.items()))
        option = None
        params = dict[str, Any]()
        if kind not in TRANSFORM_KINDS:
            raise doc.error(
                path, f"unknown transform {kind!r} (known: {', '.join(sorted(TRANSFORM_KINDS))})"
            )
        if isinstance(raw, dict):
            params = raw
        elif isinstance(raw, str):
            option = raw
        elif raw is not None:
            raise doc.error((*path, kind), "expected an option name or a mapping of parameters")
    else:
        raise doc.error(path, "expected a transform name or {transform: option}")
    if kind not in TRANSFORM_KINDS:
        raise doc.error(
            path, f"unknown transform {kind!r} (known: {', '.join(sorted(TRANSFORM_KINDS))})"
        )
    if kind == GENERALIZE:
        if option not in GENERALIZERS:
            raise doc.error(
                path, f"generalize needs one of {', '.join(sorted(GENERALIZERS))}, got {option!r}"
            )
    elif option is not None:
        raise doc.error(path, f"transform {kind!r} takes parameters as a mapping, not {option!r}")
    for name, param in params.items():
        if not isinstance(param, str | int | float | bool):
            raise doc.error((*path, kind, name), "transform parameters must be scalars")
    return TransformSpec(kind=kind, option=option, params=dict(params), line=line)


def _purposes(
    doc: Located, value: Any, columns: dict[str, ColumnSpec], label: str | None
) -> dict[str, PurposeSpec]:
    if not isinstance(value, dict) or not value:
        raise doc.error(("purposes",), "declare at least one purpose")
    purposes: dict[str, PurposeSpec] = {}
    for name, body in value.items():
        path: Path_ = ("purposes", name)
        if not _NAME.match(name):
            raise doc.error(path, "purpose names are letters, digits, . _ -")
        body = _mapping(doc, body, path, {"columns"}, {"columns"})
        allowed = body["columns"]
        if not isinstance(allowed, dict) or not allowed:
            raise doc.error((*path, "columns"), "list at least one allowed column")
        transforms: dict[str, TransformSpec] = {}
        for column, raw in allowed.items():
            cpath: Path_ = (*path, "columns", column)
            if column not in columns:
                raise doc.error(cpath, f"column {column!r} is not declared under 'columns'")
            spec = _transform(doc, raw, cpath)
            declared = columns[column]
            if (
                declared.classification == "direct_identifier"
                and spec.kind not in DIRECT_IDENTIFIER_TRANSFORMS
            ):
                raise doc.error(
                    cpath,
                    f"direct identifier {column!r} cannot be {spec.kind}; use "
                    + ", ".join(sorted(DIRECT_IDENTIFIER_TRANSFORMS)),
                )
            if column == label and spec.kind != KEEP:
                raise doc.error(cpath, "the label column must be 'keep'")
            transforms[column] = spec
        purposes[name] = PurposeSpec(name=name, transforms=transforms)
    return purposes


def _training(
    doc: Located, value: Any, purposes: dict[str, PurposeSpec], label: str | None
) -> TrainingSpec:
    path: Path_ = ("training",)
    body = _mapping(
        doc,
        value,
        path,
        {"model_name", "purpose", "estimator", "params", "test_size", "seed"},
        {"model_name", "estimator"},
    )
    model_name = _string(doc, body["model_name"], (*path, "model_name"))
    if not _SEGMENTED_NAME.match(model_name):
        raise doc.error((*path, "model_name"), "model names are segments of letters, digits, . _ -")
    purpose = _string(doc, body.get("purpose", "training"), (*path, "purpose"))
    if purpose not in purposes:
        raise doc.error((*path, "purpose"), f"purpose {purpose!r} is not declared")
    if label is None:
        raise doc.error(path, "training needs a top-level 'label' column")
    if label not in purposes[purpose].transforms:
        raise doc.error(("purposes", purpose, "columns"), f"label {label!r} must be allowed")
    estimator = _string(doc, body["estimator"], (*path, "estimator"))
    params = body.get("params", {}) or {}
    if not isinstance(params, dict):
        raise doc.error((*path, "params"), "expected a mapping of parameters")
    try:
        build_estimator(estimator, params)
    except EstimatorSpecError as exc:
        where = (*path, "params", exc.param) if exc.param else (*path, "estimator")
        raise doc.error(where, str(exc)) from None
    test_size = body.get("test_size", 0.25)
    if isinstance(test_size, bool) or not isinstance(test_size, int | float):
        raise doc.error((*path, "test_size"), "expected a number between 0 and 1")
    if not 0.0 < float(test_size) < 1.0:
        raise doc.error((*path, "test_size"), "expected a number strictly between 0 and 1")
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise doc.error((*path, "seed"), "expected a non-negative integer")
    return TrainingSpec(
        model_name=model_name,
        purpose=purpose,
        estimator=estimator,
        params=dict(params),
        test_size=float(test_size),
        seed=seed,
    )


def parse_spec(doc: Located, raw: bytes, spec_file: Path) -> DatasetSpec:
    """Validate located YAML data into a ``DatasetSpec``."""
    top = _mapping(
        doc,
        doc.data,
        (),
        {"version", "name", "source", "columns", "label", "purposes", "training"},
        {"name", "source", "columns", "purposes"},
    )
    if top.get("version", 1) != 1:
        raise doc.error(("version",), "only spec version 1 is supported")
    name = _string(doc, top["name"], ("name",))
    if not _SEGMENTED_NAME.match(name):
        raise doc.error(
            ("name",), "dataset names are /-separated segments of letters, digits, . _ -"
        )
    source = _mapping(doc, top["source"], ("source",), {"path", "format"}, {"path"})
    location = Path(_string(doc, source["path"], ("source", "path")))
    if not location.is_absolute():
        location = spec_file.parent / location
    default_format = "parquet" if location.suffix.lower() in {".parquet", ".pq"} else "csv"
    fmt = _string(doc, source.get("format", default_format), ("source", "format"), FORMATS)

    raw_columns = top["columns"]
    if not isinstance(raw_columns, dict) or not raw_columns:
        raise doc.error(("columns",), "declare at least one column")
    columns: dict[str, ColumnSpec] = {}
    for column, body in raw_columns.items():
        path: Path_ = ("columns", column)
        body = _mapping(doc, body, path, {"class", "dtype"}, {"class", "dtype"})
        columns[column] = ColumnSpec(
            name=column,
            classification=_string(doc, body["class"], (*path, "class"), CLASSIFICATIONS),
            dtype=_string(doc, body["dtype"], (*path, "dtype"), DTYPES),
        )
    label = top.get("label")
    if label is not None:
        label = _string(doc, label, ("label",))
        if label not in columns:
            raise doc.error(("label",), f"label {label!r} is not a declared column")
    purposes = _purposes(doc, top["purposes"], columns, label)
    training = _training(doc, top["training"], purposes, label) if "training" in top else None
    return DatasetSpec(
        name=name,
        source_path=location,
        source_format=fmt,
        columns=columns,
        label=label,
        purposes=purposes,
        training=training,
        spec_file=spec_file,
        spec_sha256=sha256_hex(raw),
        lines=dict(doc.lines),
    )


def load_spec(path: Path | str) -> DatasetSpec:
    """Read and validate a dataset spec file."""
    spec_file = Path(path)
    doc, raw = load_located(spec_file)
    return parse_spec(doc, raw, spec_file)

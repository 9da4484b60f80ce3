"""The one place where spec transform names become ``bastion.privacy.tabular`` transformers.

Spec names: ``keep``, ``drop``, ``pseudonymize``, ``mask``, ``deidentify_text`` and
``generalize: age_band | zip3 | year | top_code_age``.  ``drop`` never reaches a
transformer: a dropped column is not read from the file at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KEEP = "keep"
DROP = "drop"
PSEUDONYMIZE = "pseudonymize"
MASK = "mask"
GENERALIZE = "generalize"
DEIDENTIFY_TEXT = "deidentify_text"

TRANSFORM_KINDS: frozenset[str] = frozenset(
    {KEEP, DROP, PSEUDONYMIZE, MASK, GENERALIZE, DEIDENTIFY_TEXT}
)
GENERALIZERS: frozenset[str] = frozenset({"age_band", "zip3", "year", "top_code_age"})
# Which transforms a direct identifier may use: it must never reach a model as-is.
DIRECT_IDENTIFIER_TRANSFORMS: frozenset[str] = frozenset(
    {DROP, PSEUDONYMIZE, MASK, DEIDENTIFY_TEXT}
)


@dataclass(frozen=True)
class TransformSpec:
    """One column's transform for one purpose, as written in the spec."""

    kind: str
    option: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    line: int | None = None

    @property
    def label(self) -> str:
        """Stable short name recorded in lineage, e.g. ``generalize:age_band``."""
        return f"{self.kind}:{self.option}" if self.option else self.kind


def _tabular() -> Any:
    from bastion.privacy import tabular

    return tabular


def _build(spec: TransformSpec, columns: list[str], key: Callable[[], bytes]) -> Any:
    tabular = _tabular()
    params = dict(spec.params)
    if spec.kind == PSEUDONYMIZE:
        return tabular.HmacPseudonymizer(key=key(), columns=columns, **params)
    if spec.kind == MASK:
        return tabular.Masker(columns=columns, **params)
    if spec.kind == DEIDENTIFY_TEXT:
        return tabular.TextDeidentifier(columns=columns, key=key(), **params)
    if spec.kind == GENERALIZE:
        generalizers: dict[str, Any] = {
            "age_band": tabular.AgeBander,
            "zip3": tabular.ZipTruncator,
            "year": tabular.DateGeneralizer,
            "top_code_age": tabular.AgeTopCoder,
        }
        return generalizers[str(spec.option)](columns=columns, **params)
    raise ValueError(f"transform {spec.kind!r} has no transformer")


def build_transformers(
    transforms: dict[str, TransformSpec], key: Callable[[], bytes]
) -> list[tuple[str, Any]]:
    """Named scikit-learn transformers, one per distinct transform, in a stable order.

    ``key`` is called only when a column is pseudonymized, so purposes that do
    not pseudonymize never touch the key ring.
    """
    groups: dict[tuple[str, str | None, str], list[str]] = {}
    specs: dict[tuple[str, str | None, str], TransformSpec] = {}
    for column, spec in transforms.items():
        if spec.kind in (KEEP, DROP):
            continue
        group = (spec.kind, spec.option, repr(sorted(spec.params.items())))
        groups.setdefault(group, []).append(column)
        specs[group] = spec
    steps: list[tuple[str, Any]] = []
    for index, (group, columns) in enumerate(
        sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2]))
    ):
        spec = specs[group]
        steps.append((f"{index}-{spec.label.replace(':', '-')}", _build(spec, columns, key)))
    return steps

"""The per-entity operator policy: a ``default`` operator plus per-entity overrides.

```yaml
default: replace                 # or {operator: replace, numbered: false}
entities:
  PERSON: surrogate
  EMAIL_ADDRESS: {operator: pseudonymize, length: 12}
  US_SSN: {operator: mask, keep_last: 4}
  DATE_TIME: {operator: date_shift, max_days: 180}
custom_entities: [EMPLOYEE_ID]   # types of custom recognizers
```

Unknown keys, entity names and operators are refused with the file, line and field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bastion.core.errors import ValidationError
from bastion.privacy.detect.entities import BUILTIN_ENTITIES
from bastion.privacy.transform.operators import (
    GENERALIZABLE,
    OPERATOR_NAMES,
    OperatorConfig,
    Replace,
)
from bastion.privacy.transform.yaml_source import line_of, parse_yaml, read_yaml

# Entity types the detection engine emits, plus aliases other NER backends use.
KNOWN_ENTITIES = BUILTIN_ENTITIES | frozenset(
    {"GPE", "CITY", "US_STATE", "COUNTRY", "LICENSE_PLATE", "CERTIFICATE_NUMBER", "ID_NUMBER"}
)


def _expand_shorthand(value: Any) -> Any:
    return {"operator": value} if isinstance(value, str) else value


class OperatorPolicy(BaseModel):
    """Which operator, with which parameters, applies to each entity type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: OperatorConfig = Field(default_factory=Replace)
    entities: dict[str, OperatorConfig] = Field(default_factory=dict)
    custom_entities: tuple[str, ...] = ()

    @field_validator("default", mode="before")
    @classmethod
    def _default_shorthand(cls, value: Any) -> Any:
        return _expand_shorthand(value)

    @field_validator("entities", mode="before")
    @classmethod
    def _entities_shorthand(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {name: _expand_shorthand(config) for name, config in value.items()}
        return value

    @field_validator("custom_entities")
    @classmethod
    def _custom_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not name.isidentifier() or name.upper() != name:
                raise ValueError(f"custom entity '{name}' must be UPPER_SNAKE_CASE")
        return names

    @model_validator(mode="after")
    def _check_entities(self) -> OperatorPolicy:
        allowed = KNOWN_ENTITIES | set(self.custom_entities)
        for name, config in self.entities.items():
            if name not in allowed:
                raise ValueError(
                    f"entity '{name}': unknown entity type (declare it under custom_entities "
                    "if a custom recognizer emits it)"
                )
            if config.operator == "generalize" and name not in GENERALIZABLE:
                raise ValueError(
                    f"entity '{name}': generalize applies only to "
                    f"{', '.join(sorted(GENERALIZABLE))}"
                )
        if self.default.operator == "generalize":
            raise ValueError(
                "entity 'default': generalize cannot be the default; set it per entity"
            )
        return self

    def for_entity(self, entity_type: str) -> OperatorConfig:
        """The operator configured for ``entity_type`` (the default if none)."""
        return self.entities.get(entity_type, self.default)

    @property
    def needs_key(self) -> bool:
        """True when any configured operator is keyed."""
        return self.default.needs_key or any(op.needs_key for op in self.entities.values())

    def keyed_operators(self) -> Iterable[str]:
        """Names of the keyed operators in use, for error messages."""
        configs = [self.default, *self.entities.values()]
        return sorted({c.operator for c in configs if c.needs_key})


def policy_from_mapping(data: Any, *, source: str = "<policy>", text: str = "") -> OperatorPolicy:
    """Validate already-parsed policy data; errors name ``source``, line and field."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValidationError(
            "a policy must be a mapping with 'default' and 'entities'", file=source
        )
    try:
        return OperatorPolicy.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        raise _located(exc, source, text) from None


def load_policy(path: str | Path) -> OperatorPolicy:
    """Load and validate a policy YAML file."""
    file = Path(path)
    data, text = read_yaml(file)
    return policy_from_mapping(data, source=str(file), text=text)


def parse_policy(text: str, *, source: str = "<policy>") -> OperatorPolicy:
    """Validate a policy given as YAML text."""
    return policy_from_mapping(parse_yaml(text, source), source=source, text=text)


def _located(exc: pydantic.ValidationError, source: str, text: str) -> ValidationError:
    first = exc.errors()[0]
    loc = [part for part in first["loc"] if isinstance(part, str | int)]
    # Drop the discriminator tags pydantic inserts (e.g. 'mask') from the path.
    cleaned: list[str | int] = []
    for part in loc:
        if (
            isinstance(part, str)
            and part in OPERATOR_NAMES
            and cleaned
            and cleaned[-1] != "operator"
        ):
            continue
        cleaned.append(part)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "union_tag_invalid":
        message = f"unknown operator; choose one of {', '.join(OPERATOR_NAMES)}"
        cleaned.append("operator")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    field = ".".join(str(part) for part in cleaned) or None
    named = re.match(r"entity '([^']+)': (.*)", message)
    if field is None and named:
        name, message = named.group(1), named.group(2)
        cleaned = ["default"] if name == "default" else ["entities", name]
        field = ".".join(str(part) for part in cleaned)
    line = line_of(text, cleaned) if text else None
    return ValidationError(message, file=source, line=line, field=field)

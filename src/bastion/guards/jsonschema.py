"""Well-formedness of structured responses: JSON that parses, is not absurdly deep, and matches
a JSON Schema.

A small validator covers the keywords structured LLM output needs (types,
properties, required, additionalProperties, items, enums, bounds, patterns,
anyOf/oneOf/allOf/not).  Unsupported keywords are refused when the schema is
loaded rather than silently ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bastion.core.errors import ConfigError
from bastion.guards.base import Action, Guard, ScanContext, Verdict

_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "format",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
_KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
        "minProperties",
        "maxProperties",
    }
)
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.S)
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def check_schema(schema: Any, path: str = "#") -> None:
    """Raise ``ConfigError`` for a schema using keywords this validator does not implement."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, Mapping):
        raise ConfigError(f"JSON schema at {path} must be an object or boolean")
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key not in _KEYWORDS:
            raise ConfigError(f"JSON schema at {path}: unsupported keyword {key!r}")
        if key == "type":
            names = value if isinstance(value, list) else [value]
            unknown = [n for n in names if n not in _TYPES]
            if unknown:
                raise ConfigError(f"JSON schema at {path}: unknown type {unknown[0]!r}")
        elif key == "properties":
            if not isinstance(value, Mapping):
                raise ConfigError(f"JSON schema at {path}/properties must be an object")
            for name, sub in value.items():
                check_schema(sub, f"{path}/properties/{name}")
        elif key in ("items", "additionalProperties", "not"):
            check_schema(value, f"{path}/{key}")
        elif key in ("anyOf", "oneOf", "allOf"):
            if not isinstance(value, list) or not value:
                raise ConfigError(f"JSON schema at {path}/{key} must be a non-empty array")
            for i, sub in enumerate(value):
                check_schema(sub, f"{path}/{key}/{i}")
        elif key == "pattern":
            try:
                re.compile(value)
            except (re.error, TypeError) as exc:
                raise ConfigError(f"JSON schema at {path}/pattern: invalid regex ({exc})") from exc


def validate(value: Any, schema: Any, path: str = "") -> list[str]:
    """Errors as ``/json/pointer: message``; empty when ``value`` matches ``schema``."""
    if schema is True:
        return []
    if schema is False:
        return [f"{path or '/'}: no value allowed here"]
    errors: list[str] = []
    where = path or "/"
    kind = schema.get("type")
    if kind is not None:
        names = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES[n](value) for n in names):
            return [f"{where}: expected {' or '.join(names)}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: not one of the allowed values")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: must equal the constant")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{where}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{where}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: does not match the pattern")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: below minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: above maximum {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errors.append(f"{where}: not above {schema['exclusiveMinimum']}")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            errors.append(f"{where}: not below {schema['exclusiveMaximum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: more than {schema['maxItems']} items")
        if schema.get("uniqueItems"):
            seen = [json.dumps(v, sort_keys=True) for v in value]
            if len(set(seen)) != len(seen):
                errors.append(f"{where}: items are not unique")
        if "items" in schema:
            for i, item in enumerate(value):
                errors.extend(validate(item, schema["items"], f"{path}/{i}"))
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: missing required property {name!r}")
        if len(value) < schema.get("minProperties", 0):
            errors.append(f"{where}: fewer than {schema['minProperties']} properties")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            errors.append(f"{where}: more than {schema['maxProperties']} properties")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            pointer = f"{path}/{name}"
            if name in properties:
                errors.extend(validate(item, properties[name], pointer))
            elif extra is False:
                errors.append(f"{pointer}: property not allowed")
            elif isinstance(extra, Mapping):
                errors.extend(validate(item, extra, pointer))
    for sub in schema.get("allOf", []):
        errors.extend(validate(value, sub, path))
    if "anyOf" in schema and not any(not validate(value, s, path) for s in schema["anyOf"]):
        errors.append(f"{where}: matches none of anyOf")
    if "oneOf" in schema and sum(1 for s in schema["oneOf"] if not validate(value, s, path)) != 1:
        errors.append(f"{where}: must match exactly one of oneOf")
    if "not" in schema and not validate(value, schema["not"], path):
        errors.append(f"{where}: matches a forbidden schema")
    return errors


def nesting_depth(text: str) -> int:
    """Maximum bracket nesting outside strings, computed without parsing."""
    depth = best = 0
    for bracket in _BRACKETS.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            best = max(best, depth)
        else:
            depth -= 1
    return best


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class JsonSchemaGuard(Guard):
    """Require the text to be JSON (optionally in one ```json fence) matching a schema.

    The schema comes from the policy (``schema``) or per call from
    ``ScanContext.json_schema`` (which wins).  With neither, the guard
    reports ``json:not-required`` as a score and allows.
    """

    kind = "json-schema"
    default_action = Action.BLOCK

    def __init__(
        self,
        *,
        schema: Mapping[str, Any] | bool | None = None,
        max_depth: int = 32,
        allow_fence: bool = True,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if schema is not None:
            check_schema(schema)
        if not 1 <= max_depth <= 256:
            raise ValueError("max_depth must be between 1 and 256")
        self.schema = schema
        self.max_depth = max_depth
        self.allow_fence = allow_fence

    def scan(self, text: str, context: ScanContext) -> Verdict:
        schema = context.json_schema if context.json_schema is not None else self.schema
        if schema is None:
            return self.allow(scores={"required": 0.0})
        if context.json_schema is not None:
            check_schema(schema)
        body = text
        fenced = _FENCE.match(text) if self.allow_fence else None
        if fenced:
            body = fenced.group(1)
        depth = nesting_depth(body)
        if depth > self.max_depth:
            return self.found(["json:too-deep"], scores={"depth": float(depth)})
        try:
            value = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            return self.found(
                ["json:malformed"], scores={"error_offset": float(getattr(exc, "pos", 0) or 0)}
            )
        errors = validate(value, schema)
        if errors:
            return self.found(["json:schema-violation"], scores={"errors": float(len(errors))})
        return self.allow(scores={"required": 1.0, "depth": float(depth)})

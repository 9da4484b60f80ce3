"""Custom recognizers from YAML: regex + named validator + context words.

Example::

    entities: [EMPLOYEE_ID]          # new entity types must be declared here
    recognizers:
      - name: employee_id
        entity: EMPLOYEE_ID
        patterns:
          - {regex: 'E-\\d{6}', score: 0.6}
        validator: not_repetitive    # optional, see validators.VALIDATORS
        context: [employee, staff]   # whole words, never substrings
        needs_context: false
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bastion.core.errors import ValidationError
from bastion.privacy.detect.entities import BUILTIN_ENTITIES
from bastion.privacy.detect.recognizer import Pattern, PatternRecognizer
from bastion.privacy.detect.validators import VALIDATORS

_ENTITY_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_KEYS = {"name", "entity", "patterns", "validator", "context", "needs_context", "context_boost"}


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _child(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
            return v
    return None


def load_custom_recognizers(path: Path) -> list[PatternRecognizer]:
    """Parse ``path``; every error names the file, line and field at fault."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except OSError as exc:
        raise ValidationError(f"cannot read recognizer file: {exc.strerror}", file=file) from exc
    except UnicodeDecodeError as exc:
        raise ValidationError("recognizer file is not UTF-8", file=file) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError(
            f"invalid YAML: {getattr(exc, 'problem', exc)}",
            file=file,
            line=mark.line + 1 if mark else None,
        ) from exc
    if not isinstance(root, yaml.MappingNode):
        raise ValidationError("expected a mapping with a 'recognizers' list", file=file, line=1)
    data: dict[str, Any] = yaml.safe_load(text)
    declared = set(BUILTIN_ENTITIES)
    entities_node = _child(root, "entities")
    for name in data.get("entities") or []:
        if not isinstance(name, str) or not _ENTITY_NAME.fullmatch(name):
            raise ValidationError(
                f"entity name {name!r} must be UPPER_SNAKE_CASE",
                file=file,
                line=_line(entities_node) if entities_node else None,
                field="entities",
            )
        declared.add(name)
    items_node = _child(root, "recognizers")
    items = data.get("recognizers")
    if not isinstance(items_node, yaml.SequenceNode) or not isinstance(items, list):
        raise ValidationError(
            "'recognizers' must be a list",
            file=file,
            line=_line(items_node) if items_node else 1,
            field="recognizers",
        )
    return [
        _one(file, index, node, item, declared)
        for index, (node, item) in enumerate(zip(items_node.value, items, strict=True))
    ]


def _one(
    file: str, index: int, node: yaml.Node, item: Any, declared: set[str]
) -> PatternRecognizer:
    where = f"recognizers[{index}]"
    if not isinstance(item, dict) or not isinstance(node, yaml.MappingNode):
        raise ValidationError(
            "each recognizer must be a mapping", file=file, line=_line(node), field=where
        )

    def fail(key: str, message: str) -> ValidationError:
        child = _child(node, key) if isinstance(node, yaml.MappingNode) else None
        return ValidationError(
            message, file=file, line=_line(child or node), field=f"{where}.{key}"
        )

    for key in item:
        if key not in _KEYS:
            raise fail(key, f"unknown key {key!r}; allowed: {', '.join(sorted(_KEYS))}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise fail("name", "a non-empty name is required")
    entity = item.get("entity")
    if entity not in declared:
        raise fail(
            "entity",
            f"unknown entity type {entity!r}: use a built-in type or declare it "
            "under the top-level 'entities' list",
        )
    raw_patterns = item.get("patterns")
    if not isinstance(raw_patterns, list) or not raw_patterns:
        raise fail("patterns", "at least one pattern {regex, score} is required")
    patterns_node = _child(node, "patterns")
    patterns: list[Pattern] = []
    for p_index, raw in enumerate(raw_patterns):
        p_node = (
            patterns_node.value[p_index] if isinstance(patterns_node, yaml.SequenceNode) else node
        )
        field_name = f"{where}.patterns[{p_index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("regex"), str):
            raise ValidationError(
                "pattern needs a 'regex' string", file=file, line=_line(p_node), field=field_name
            )
        score = raw.get("score", 0.6)
        if not isinstance(score, (int, float)) or not 0 <= score <= 1:
            raise ValidationError(
                "score must be a number in [0, 1]",
                file=file,
                line=_line(p_node),
                field=f"{field_name}.score",
            )
        try:
            regex = re.compile(raw["regex"])
        except re.error as exc:
            raise ValidationError(
                f"bad regex: {exc}", file=file, line=_line(p_node), field=f"{field_name}.regex"
            ) from exc
        patterns.append(Pattern(regex, float(score), f"{name}[{p_index}]"))
    validator_name = item.get("validator")
    validator = None
    if validator_name is not None:
        validator = VALIDATORS.get(validator_name)
        if validator is None:
            raise fail(
                "validator",
                f"unknown validator {validator_name!r}; known: {', '.join(sorted(VALIDATORS))}",
            )
    context = item.get("context") or []
    if not isinstance(context, list) or not all(isinstance(w, str) for w in context):
        raise fail("context", "context must be a list of words")
    boost = item.get("context_boost", 0.35)
    if not isinstance(boost, (int, float)) or not 0 <= boost <= 1:
        raise fail("context_boost", "context_boost must be a number in [0, 1]")
    return PatternRecognizer(
        name=name,
        entity=entity,
        patterns=patterns,
        validator=validator,
        context=frozenset(w.lower() for w in context),
        context_boost=float(boost),
        needs_context=bool(item.get("needs_context", False)),
        needs_digit=False,
    )

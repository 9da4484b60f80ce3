"""Read a YAML file safely and find the line of any key path, for error messages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bastion.core.errors import ConfigError, ValidationError


def read_yaml(path: Path) -> tuple[Any, str]:
    """Parsed data (safe loader) and raw text of ``path``; errors name file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: policy file not found") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read policy ({exc.strerror})") from exc
    return parse_yaml(text, str(path)), text


def parse_yaml(text: str, source: str) -> Any:
    """``yaml.safe_load`` with the error located by line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationError(f"invalid YAML: {problem}", file=source, line=line) from None


def line_of(text: str, path: Sequence[str | int]) -> int | None:
    """1-based line of the deepest node of ``path`` that exists in ``text``."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line

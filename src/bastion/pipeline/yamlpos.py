"""YAML parsing that keeps the line of every node, so spec errors can name file, line, field.

PyYAML's safe loader drops positions once it builds dicts; we compose the node
graph ourselves and convert it into plain values plus a ``path -> line`` map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bastion.core.errors import ValidationError

Path_ = tuple[str, ...]


@dataclass
class Located:
    """Plain YAML data plus the 1-based line of each node, keyed by its field path."""

    data: Any
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int | None:
        """Line of ``path`` or of its nearest located ancestor."""
        probe = path
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), None)

    def error(self, path: Path_, message: str) -> ValidationError:
        """A ``ValidationError`` positioned at ``path``."""
        return ValidationError(
            message, file=self.file, line=self.line(path), field=".".join(path) or None
        )


def _convert(node: yaml.Node, path: Path_, out: Located, loader: yaml.SafeLoader) -> Any:
    out.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ValidationError(
                    "mapping keys must be plain scalars",
                    file=out.file,
                    line=key_node.start_mark.line + 1,
                )
            key = str(key_node.value)
            if key in result:
                raise ValidationError(
                    f"duplicate key {key!r}",
                    file=out.file,
                    line=key_node.start_mark.line + 1,
                    field=".".join((*path, key)),
                )
            result[key] = _convert(value_node, (*path, key), out, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, str(i)), out, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node)  # type: ignore[no-untyped-call]


def load_located(path: Path) -> tuple[Located, bytes]:
    """Read ``path`` as YAML; returns located data and the exact bytes read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read spec ({exc.strerror})", file=str(path)) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from exc
    out = Located(data=None, file=str(path))
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters up front
        raise ValidationError(f"invalid YAML: {exc}".split("\n")[0], file=str(path)) from exc
    try:
        node = loader.get_single_node()
        if node is None:
            raise ValidationError("spec is empty", file=str(path))
        out.data = _convert(node, (), out, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ValidationError(f"invalid YAML: {exc.problem}", file=str(path), line=line) from exc
    except yaml.YAMLError as exc:
        raise ValidationError(f"invalid YAML: {exc}", file=str(path)) from exc
    finally:
        loader.dispose()
    return out, raw

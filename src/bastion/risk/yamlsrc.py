"""YAML reading that remembers where every mapping and key came from.

Error messages must name file, line and field; PyYAML's safe loader forgets
positions once it builds plain dicts, so we build ``LocatedDict`` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bastion.core.errors import ValidationError


class LocatedDict(dict[str, Any]):
    """A mapping that knows its source file, its own line and the line of each key."""

    file: str = ""
    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """The line of ``key`` if present, else the line of the mapping itself."""
        return self.key_lines.get(key, self.line)


class LocatedList(list[Any]):
    """A sequence that knows where it starts."""

    file: str = ""
    line: int = 0


_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parser when available


class _Loader(_Base):  # type: ignore[misc]
    """Safe loader (no arbitrary tags) that builds located containers."""

    source: str = ""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    result = LocatedDict()
    result.file = loader.source
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        if not isinstance(key, str | int | float | bool):
            raise ValidationError(
                "mapping keys must be plain scalars", file=loader.source, line=result.line
            )
        skey = str(key)
        if skey in result:
            raise ValidationError(
                f"duplicate key {skey!r}",
                file=loader.source,
                line=key_node.start_mark.line + 1,
                field=skey,
            )
        result[skey] = loader.construct_object(value_node, deep=True)  # type: ignore[no-untyped-call]
        result.key_lines[skey] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    result = LocatedList(
        loader.construct_object(child, deep=True)  # type: ignore[no-untyped-call]
        for child in node.value
    )
    result.file = loader.source
    result.line = node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_text(text: str, source: str) -> Any:
    """Parse YAML (or JSON) text; syntax errors become ``ValidationError`` with a line."""
    loader = _Loader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ValidationError(f"invalid YAML: {exc.problem}", file=source, line=line) from None
    except yaml.YAMLError as exc:
        raise ValidationError(f"invalid YAML: {exc}", file=source) from None
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]


def load_file(path: Path) -> Any:
    """Read and parse one YAML/JSON file with positions."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None
    except OSError as exc:
        raise ValidationError(f"cannot read ({exc.strerror})", file=str(path)) from None
    return load_text(text, str(path))


def where(node: Any, key: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``ValidationError`` locating ``node`` (and ``key`` in it)."""
    if isinstance(node, LocatedDict):
        return {
            "file": node.file or None,
            "line": node.line_of(key) if key else node.line,
        }
    if isinstance(node, LocatedList):
        return {"file": node.file or None, "line": node.line}
    return {}

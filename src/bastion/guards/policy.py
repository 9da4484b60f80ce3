"""Guard chains from YAML policy, with errors that name the file, line and field.

    version: 1
    stop_on_block: true
    input:
      - guard: length
        max_chars: 20000
      - guard: prompt-injection
        action: block
    output:
      - guard: pii
        action: redact

Every guard entry takes ``guard`` (its kind), optional ``name`` (unique per
chain), ``action`` and ``on_error`` (``block``, the default, or ``flag``) plus
its own options.  Unknown keys are errors, not ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field

from bastion.core.errors import ConfigError, ValidationError
from bastion.guards.base import Action, Guard
from bastion.guards.chain import GuardChain

ActionName = Literal["block", "redact", "flag"]
CategoryAction = Literal["block", "redact", "flag", "allow"]
HarmCategory = Literal["profanity", "self-harm", "violence", "hate", "sexual", "sexual-minors"]


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    guard: str
    name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    action: ActionName | None = None
    on_error: Literal["block", "flag"] = "block"


class LengthOptions(_Common):
    max_chars: int = Field(default=32_000, ge=1)
    max_tokens: int = Field(default=8_192, ge=1)


class UnicodeOptions(_Common):
    pass


class MarkupOptions(_Common):
    pass


class SecretsOptions(_Common):
    pass


class StructuredOptions(_Common):
    fields: list[str] = Field(default_factory=lambda: ["*"], min_length=1)


class InjectionOptions(_Common):
    threshold: float | None = Field(default=None, gt=0, le=1)
    use_classifier: bool = True
    max_decode_depth: int = Field(default=2, ge=0, le=4)


class PIIOptions(_Common):
    entities: list[str] | None = None
    min_score: float = Field(default=0.5, ge=0, le=1)


class HarmfulOptions(_Common):
    categories: dict[HarmCategory, CategoryAction] = Field(default_factory=dict)
    profanity_threshold: float = Field(default=0.8, gt=0, le=1)


class LeakageOptions(_Common):
    canaries: list[str] = Field(default_factory=list)
    system_prompt: str | None = None
    min_words: int = Field(default=8, ge=3)


class JsonSchemaOptions(_Common):
    json_schema: dict[str, Any] | bool | None = Field(default=None, alias="schema")
    schema_file: str | None = None
    max_depth: int = Field(default=32, ge=1, le=256)
    allow_fence: bool = True


def _factories() -> dict[str, tuple[type[_Common], Callable[..., Guard]]]:
    from bastion.guards.harmful import HarmfulContentGuard
    from bastion.guards.injection.guard import PromptInjectionGuard
    from bastion.guards.jsonschema import JsonSchemaGuard
    from bastion.guards.leakage import LeakageGuard
    from bastion.guards.limits import LengthGuard
    from bastion.guards.markup import MarkupGuard
    from bastion.guards.normalize import UnicodeGuard
    from bastion.guards.pii import PIIGuard
    from bastion.guards.secrets import SecretsGuard
    from bastion.guards.structured import StructuredInjectionGuard

    return {
        "length": (LengthOptions, LengthGuard),
        "unicode": (UnicodeOptions, UnicodeGuard),
        "markup": (MarkupOptions, MarkupGuard),
        "secrets": (SecretsOptions, SecretsGuard),
        "structured-injection": (StructuredOptions, StructuredInjectionGuard),
        "prompt-injection": (InjectionOptions, PromptInjectionGuard),
        "pii": (PIIOptions, PIIGuard),
        "harmful": (HarmfulOptions, HarmfulContentGuard),
        "leakage": (LeakageOptions, LeakageGuard),
        "json-schema": (JsonSchemaOptions, JsonSchemaGuard),
    }


GUARD_KINDS: tuple[str, ...] = (
    "length",
    "unicode",
    "markup",
    "secrets",
    "structured-injection",
    "prompt-injection",
    "pii",
    "harmful",
    "leakage",
    "json-schema",
)


# YAML with line numbers ---------------------------------------------------------------
def _compose(text: str, source: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError(
            f"invalid YAML: {getattr(exc, 'problem', exc)}",
            file=source,
            line=mark.line + 1 if mark else None,
        ) from None
    lines: dict[tuple[Any, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = key.value
                if name in seen:
                    raise ValidationError(
                        "duplicate key",
                        file=source,
                        line=key.start_mark.line + 1,
                        field=_dotted((*path, name)),
                    )
                seen.add(name)
                lines[(*path, name)] = key.start_mark.line + 1
                walk(value, (*path, name))
                lines[(*path, name)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    if root is not None:
        walk(root, ())
    data = yaml.safe_load(text) if root is not None else None
    return data, lines


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return None


def chain_from_policy(
    data: Any, *, source: str = "<policy>", text: str | None = None
) -> GuardChain:
    """Build a chain from parsed policy data; ``text`` (the YAML) enables line numbers."""
    lines = _compose(text, source)[1] if text is not None else {}

    def fail(message: str, path: tuple[Any, ...]) -> ValidationError:
        return ValidationError(
            message, file=source, line=_line(lines, path), field=_dotted(path) or None
        )

    if not isinstance(data, dict):
        raise fail("a guard policy must be a mapping with 'input' and/or 'output' lists", ())
    unknown = sorted(set(data) - {"version", "stop_on_block", "input", "output"})
    if unknown:
        raise fail("unknown key (expected version, stop_on_block, input, output)", (unknown[0],))
    if data.get("version", 1) != 1:
        raise fail("unsupported policy version (expected 1)", ("version",))
    stop = data.get("stop_on_block", True)
    if not isinstance(stop, bool):
        raise fail("must be true or false", ("stop_on_block",))
    factories = _factories()
    base = Path(source).parent if source and not source.startswith("<") else Path.cwd()
    chains: dict[str, list[Guard]] = {"input": [], "output": []}
    for direction in ("input", "output"):
        entries = data.get(direction) or []
        if not isinstance(entries, list):
            raise fail("must be a list of guards", (direction,))
        names: set[str] = set()
        for index, entry in enumerate(entries):
            path: tuple[Any, ...] = (direction, index)
            if not isinstance(entry, dict) or "guard" not in entry:
                raise fail("each entry needs a 'guard' kind", path)
            kind = entry["guard"]
            if kind not in factories:
                raise fail(
                    f"unknown guard {kind!r} (known: {', '.join(GUARD_KINDS)})", (*path, "guard")
                )
            model, factory = factories[kind]
            try:
                options = model.model_validate(entry)
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                loc = tuple(part for part in first["loc"] if part != "[key]")
                raise fail(first["msg"], (*path, *loc)) from None
            kwargs = options.model_dump(exclude={"guard", "schema_file"}, by_alias=False)
            kwargs["action"] = Action(kwargs["action"]) if kwargs["action"] else None
            kwargs["on_error"] = Action(kwargs["on_error"])
            if isinstance(options, JsonSchemaOptions):
                kwargs["schema"] = kwargs.pop("json_schema")
                if options.schema_file:
                    kwargs["schema"] = _read_schema(
                        base / options.schema_file, fail, (*path, "schema_file")
                    )
            try:
                guard = factory(**kwargs)
            except (ValueError, ConfigError) as exc:
                field = "action" if "cannot" in str(exc) else None
                raise fail(str(exc), (*path, field) if field else path) from None
            if guard.name in names:
                raise fail(
                    f"duplicate guard name {guard.name!r}; set 'name' to tell them apart", path
                )
            names.add(guard.name)
            chains[direction].append(guard)
    return GuardChain(chains["input"], chains["output"], stop_on_block=stop)


def _read_schema(
    path: Path, fail: Callable[[str, tuple[Any, ...]], ValidationError], where: tuple[Any, ...]
) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise fail(f"cannot read JSON schema {path}: {exc}", where) from None


def load_chain(path: Path | str | None = None) -> GuardChain:
    """The chain of a policy file, or the bundled default policy when ``path`` is None."""
    if path is None:
        text = default_policy_text()
        source = "<default policy>"
    else:
        target = Path(path)
        source = str(target)
        try:
            text = target.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"not UTF-8 text (byte {exc.start})", file=source) from None
        except OSError as exc:
            raise ConfigError(f"{target}: cannot read guard policy ({exc.strerror})") from None
    data, _ = _compose(text, source)
    return chain_from_policy(data, source=source, text=text)


def default_policy_text() -> str:
    """The bundled default policy (YAML)."""
    return (resources.files("bastion.guards") / "data" / "default_policy.yaml").read_text(
        encoding="utf-8"
    )

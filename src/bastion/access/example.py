"""The commented example policy that ``bastion access init-policy`` writes."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from bastion.core.errors import ConfigError


def example_policy_text() -> str:
    """The example policy (healthcare demo) as YAML text with comments."""
    return (resources.files("bastion.access") / "example_policy.yaml").read_text(encoding="utf-8")


def write_example_policy(path: Path) -> Path:
    """Create ``path`` with the example policy; never overwrite an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: refuse atomically even if another process creates the file meanwhile.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError as exc:
        raise ConfigError(
            f"{path}: already exists; not overwriting (use --out for another path)"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create policy file ({exc.strerror})") from exc
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(example_policy_text())
    return path

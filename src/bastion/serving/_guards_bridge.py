"""Build the gateway's guard chain from ``bastion.guards`` (kept apart so the import is lazy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastion.core.errors import ConfigError


def load_chain(policy: Path) -> Any:
    """The ``bastion.guards`` chain for a policy file, or the bundled one for ``default``."""
    from bastion.guards import load_chain as guards_load_chain

    if str(policy) == "default":
        return guards_load_chain(None)
    if not policy.is_file():
        raise ConfigError(f"serving.guard_policy: {policy} not found (or use 'default')")
    return guards_load_chain(policy)

"""Lineage records: who trained what, when, on which exact data slice, with which code.

A record holds digests, names, counts, parameters and metrics, never a data
value.  Its canonical JSON bytes are signed together with the model file.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from bastion import __version__
from bastion.core.timeutil import isoformat

LINEAGE_SCHEMA = "bastion.lineage.v1"


def new_run_id() -> str:
    """A random, unguessable run id (UUID4 hex)."""
    return uuid.uuid4().hex


def git_commit(directory: Path) -> str | None:
    """The HEAD commit of the git work tree containing ``directory``, if any."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell, absolute git path
            [git, "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and len(commit) in (40, 64) else None


def code_version(spec_dir: Path) -> dict[str, Any]:
    """Versions of everything that shaped the model."""
    import sklearn

    return {
        "bastion_version": __version__,
        "bastion_git_commit": git_commit(Path(__file__).resolve().parent),
        "project_git_commit": git_commit(spec_dir.resolve()),
        "python": platform.python_version(),
        "scikit_learn": sklearn.__version__,
    }


def json_safe(value: Any) -> Any:
    """Parameters and metrics as plain JSON (non-finite floats and objects become strings)."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if hasattr(value, "item"):  # numpy scalars
        return json_safe(value.item())
    return type(value).__name__


def build_record(
    *,
    run_id: str,
    principal: str,
    started_at: datetime,
    finished_at: datetime,
    dataset: dict[str, Any],
    estimator: dict[str, Any],
    split: dict[str, Any],
    metrics: dict[str, Any],
    code: dict[str, Any],
) -> dict[str, Any]:
    """The lineage record before the model section (added by the model store)."""
    return {
        "schema": LINEAGE_SCHEMA,
        "run_id": run_id,
        "principal": principal,
        "started_at": isoformat(started_at),
        "finished_at": isoformat(finished_at),
        "dataset": json_safe(dataset),
        "estimator": json_safe(estimator),
        "split": json_safe(split),
        "metrics": json_safe(metrics),
        "code": json_safe(code),
    }


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with staging.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def read_record(path: Path) -> dict[str, Any]:
    """Read a lineage record file."""
    record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict) or record.get("schema") != LINEAGE_SCHEMA:
        raise ValueError(f"{path}: not a {LINEAGE_SCHEMA} record")
    return record

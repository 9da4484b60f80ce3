"""``bastion risk`` commands: exit codes, messages, sign-off into the real audit log."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.core.errors import BastionError
from tests.risk.helpers import copy_base, write_system

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    """Run in-process; expected errors map to exit codes as ``cli.main.run`` does."""
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    if isinstance(result.exception, BastionError):
        return result.exception.exit_code, str(result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_assess_writes_reports_and_exits_0() -> None:
    write_system(Path("system.yaml"))
    code, output = invoke(
        "risk", "assess", "system.yaml", "--out", "out", "--as-of", "2026-01-01T00:00:00Z"
    )
    assert code == 0, output
    assert "threats" in output and Path("out/report.html").is_file()


def test_bad_model_exits_2_and_writes_nothing() -> None:
    document = copy_base()
    document["elements"][0]["type"] = "wizard"
    write_system(Path("system.yaml"), document)
    code, message = invoke("risk", "assess", "system.yaml", "--out", "out")
    assert code == 2 and "system.yaml" in message and "wizard" in message
    assert not Path("out").exists()


def test_bad_as_of_and_fail_on_exit_2() -> None:
    write_system(Path("system.yaml"))
    assert invoke("risk", "assess", "system.yaml", "--out", "out", "--as-of", "yesterday")[0] == 2
    assert invoke("risk", "assess", "system.yaml", "--out", "out", "--fail-on", "scary")[0] == 2


def test_fail_on_exits_1_when_residual_risk_is_high() -> None:
    write_system(Path("system.yaml"))
    assert invoke("risk", "assess", "system.yaml", "--out", "out", "--fail-on", "high")[0] == 1


def test_validate_and_listings() -> None:
    write_system(Path("system.yaml"))
    code, output = invoke("risk", "validate", "system.yaml")
    assert code == 0 and "valid" in output
    assert "ml.membership-inference" in invoke("risk", "rules")[1]
    assert "model-signing" in invoke("risk", "controls")[1]


def test_diff_reports_changes() -> None:
    write_system(Path("system.yaml"))
    invoke("risk", "assess", "system.yaml", "--out", "old")
    document = copy_base()
    document["flows"][1]["protocol"] = "https"
    write_system(Path("system.yaml"), document)
    invoke("risk", "assess", "system.yaml", "--out", "new", "--register", "old/register.json")
    code, output = invoke("risk", "diff", "old", "new", "--json")
    assert code == 0
    result = json.loads(output)
    assert result["total_residual"]["new"] < result["total_residual"]["old"]
    assert any(change["field"] == "likelihood" for change in result["changed"])
    assert invoke("risk", "diff", "old", "nowhere")[0] == 2


def test_signoff_goes_to_the_audit_log() -> None:
    from bastion.audit import open_audit_log
    from bastion.core.settings import load_settings
    from bastion.secrets import keyring_from_settings

    keyring_from_settings(load_settings()).init()
    write_system(Path("system.yaml"))
    invoke("risk", "assess", "system.yaml", "--out", "out")
    code, output = invoke("risk", "signoff", "out/register.json", "--role", "legal", "--by", "Dana")
    assert code == 0, output
    register = json.loads(Path("out/register.json").read_text(encoding="utf-8"))
    assert register["signoffs"][0]["role"] == "legal"
    with open_audit_log(load_settings()) as log:
        assert log.verify().ok
        events = [e for e in log.query() if e.action == "risk:signoff"]
    assert len(events) == 1 and events[0].principal == "Dana"


def test_atlas_import_to_file(shared_data: Path) -> None:
    code, output = invoke(
        "risk", "atlas", "import", str(shared_data / "atlas" / "ATLAS.yaml"), "--to", "atlas.json"
    )
    assert code == 0 and "techniques" in output
    assert json.loads(Path("atlas.json").read_text(encoding="utf-8"))["source"]["version"]


def test_out_path_that_is_a_file_exits_2() -> None:
    write_system(Path("system.yaml"))
    Path("taken").write_text("x", encoding="utf-8")
    code, message = invoke("risk", "assess", "system.yaml", "--out", "taken")
    assert code == 2 and "not a directory" in message

"""The ``bastion monitor`` and ``bastion incident`` commands as a user runs them."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bastion.audit import open_audit_log
from bastion.cli.main import app
from bastion.core.errors import BastionError
from bastion.core.settings import load_settings
from bastion.secrets import keyring_from_settings


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def bastion(*args: str, cwd: Path) -> Outcome:
    """Run the CLI in-process like ``bastion.cli.main.run`` does (errors → one line + code)."""
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(
            app, list(args), env={"BASTION_HOME": str(cwd / "home"), "COLUMNS": "200"}
        )
    finally:
        os.chdir(previous)
    if isinstance(result.exception, BastionError):
        return Outcome(result.exception.exit_code, result.stdout, str(result.exception))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 4000
    reference = pd.DataFrame({"age": rng.normal(40, 8, n), "plan": rng.choice(["a", "b"], n)})
    reference.to_csv(tmp_path / "ref.csv", index=False)
    reference.assign(age=reference["age"] + 6).to_parquet(tmp_path / "cur.parquet")
    reference.sample(frac=1, random_state=1).to_csv(tmp_path / "same.csv", index=False)
    return tmp_path


def test_profile_then_drift_with_json_and_plots(data: Path) -> None:
    made = bastion("monitor", "profile", "ref.csv", "--out", "ref.json", cwd=data)
    assert made.returncode == 0, made.stderr
    assert "4,000 rows" in made.stdout
    drifted = bastion(
        "monitor",
        "drift",
        "--reference",
        "ref.json",
        "--current",
        "cur.parquet",
        "--json",
        "--plot",
        "plots",
        cwd=data,
    )
    assert drifted.returncode == 1, drifted.stderr
    report = json.loads(drifted.stdout)
    assert report["drifted_features"] == ["age"]
    assert (data / "plots" / "overview.png").read_bytes()[:4] == b"\x89PNG"
    assert (data / "plots" / "age.png").is_file()
    more = bastion(
        "monitor", "profile", "same.csv", "--like", "ref.json", "-o", "more.json", cwd=data
    )
    assert more.returncode == 0, more.stderr
    merged = bastion("monitor", "merge", "ref.json", "more.json", "-o", "all.json", cwd=data)
    assert merged.returncode == 0 and "8,000 rows" in merged.stdout
    same = bastion("monitor", "drift", "-r", "all.json", "-c", "same.csv", cwd=data)
    assert same.returncode == 0, same.stderr
    assert "ok" in same.stdout


def test_bad_input_is_one_line_and_exit_2(data: Path) -> None:
    (data / "rules.yaml").write_text(
        "rules:\n  - name: a\n    metric: requests\n    window: 5x\n    threshold: 1\n"
    )
    bad = bastion("monitor", "rules", "rules.yaml", cwd=data)
    assert bad.returncode == 2
    assert "rules.yaml:4" in bad.stderr and "rules[0].window" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = bastion("monitor", "drift", "-r", "nope.csv", "-c", "cur.parquet", cwd=data)
    assert (
        missing.returncode != 0
        and "not found" in missing.stderr
        and "Traceback" not in missing.stderr
    )
    both = bastion("monitor", "run", "--once", "--every", "60s", cwd=data)
    assert both.returncode == 2 and "exactly one" in both.stderr
    never = bastion("monitor", "run", "--every", "0s", cwd=data)
    assert never.returncode == 2 and "--every" in never.stderr


def test_fairness_and_performance_commands(data: Path) -> None:
    rng = np.random.default_rng(2)
    n = 2000
    group = rng.choice(["x", "y"], n)
    label = rng.integers(0, 2, n)
    prediction = np.where(group == "x", label, 0)
    pd.DataFrame(
        {
            "prediction_id": range(n),
            "group": group,
            "prediction": prediction,
            "time": pd.date_range("2026-03-01", periods=n, freq="h", tz="UTC").astype(str),
        }
    ).to_csv(data / "preds.csv", index=False)
    pd.DataFrame({"prediction_id": [*list(range(n)), 99999], "label": [*list(label), 1]}).to_json(
        data / "labels.jsonl", orient="records", lines=True
    )
    fair = bastion(
        "monitor",
        "fairness",
        "--predictions",
        "preds.csv",
        "--labels",
        "labels.jsonl",
        "--attribute",
        "group",
        "--bootstrap",
        "100",
        "--json",
        cwd=data,
    )
    assert fair.returncode == 1, fair.stderr
    report = json.loads(fair.stdout)
    assert report["four_fifths_passed"] is False
    assert any("99999" in note for note in report["notes"])
    perf = bastion(
        "monitor",
        "performance",
        "--predictions",
        "preds.csv",
        "--labels",
        "labels.jsonl",
        "--window",
        "7D",
        "--json",
        cwd=data,
    )
    assert perf.returncode == 0, perf.stderr
    windows = json.loads(perf.stdout)["windows"]
    assert sum(w["count"] for w in windows) == n


def test_run_once_and_incident_commands(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    keyring_from_settings(settings).init()
    with open_audit_log(settings) as audit:
        for _ in range(21):
            audit.append(
                principal="anonymous",
                action="gateway:request",
                resource="route:POST /v1/predict",
                outcome="deny",
                details={"status": 401, "client": "127.0.0.6", "reasons": ["key-unknown"]},
            )
    run = bastion("monitor", "run", "--once", "--json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    evaluation = json.loads(run.stdout)
    incident_id = evaluation["incidents"][0]
    listed = json.loads(
        bastion("incident", "list", "--state", "open", "--json", cwd=tmp_path).stdout
    )
    assert [i["id"] for i in listed] == [incident_id]
    act = bastion("incident", "act", incident_id, "block-client", "127.0.0.6", cwd=tmp_path)
    assert act.returncode == 0, act.stderr
    shown = json.loads(bastion("incident", "show", incident_id, "--json", cwd=tmp_path).stdout)
    assert [e["kind"] for e in shown["timeline"]] == ["opened", "alert", "action"]
    assert len(shown["audit_events"]) == 20
    closed = bastion("incident", "close", incident_id, "-m", "address blocked", cwd=tmp_path)
    assert closed.returncode == 0, closed.stderr
    again = bastion("incident", "close", incident_id, "-m", "twice", cwd=tmp_path)
    assert again.returncode == 2 and "already closed" in again.stderr
    manual = bastion(
        "incident", "open", "phishing for keys", "--severity", "critical", cwd=tmp_path
    )
    assert manual.returncode == 0 and "opened inc-" in manual.stdout
    unknown = bastion("incident", "show", "inc-000", cwd=tmp_path)
    assert unknown.returncode != 0 and "no incident" in unknown.stderr
    with open_audit_log(settings) as audit:
        actions = {e.action for e in audit.query()}
    assert {
        "monitor:evaluate",
        "monitor:alert",
        "incident:open",
        "incident:block-client",
        "incident:close",
    } <= actions

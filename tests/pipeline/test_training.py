"""End to end with the real access, audit and secrets rooms: train, sign, refuse, leak nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bastion.access import authorizer_from_settings
from bastion.core.errors import AccessDeniedError
from bastion.pipeline import (
    feature_matrix,
    generate_rows,
    load,
    load_model,
    load_spec,
    train,
    training_context_from_settings,
    trust_store_from_settings,
)
from bastion.secrets import keyring_from_settings
from tests.pipeline.helpers import demo_setup, run_cli

ROWS, SEED = 400, 3


@pytest.fixture
def trained(tmp_path: Path) -> dict[str, object]:
    files, settings = demo_setup(tmp_path, ROWS, SEED)
    context = training_context_from_settings(settings)
    result = train(load_spec(files.spec), "bob", context)
    context.audit.close()  # type: ignore[attr-defined]
    return {"files": files, "settings": settings, "result": result}


def _secrets() -> list[str]:
    rows = generate_rows(ROWS, SEED)
    return [row[name] for row in rows for name in ("name", "email", "ssn")]


def test_training_writes_signed_model_lineage_and_audit(trained: dict[str, object]) -> None:
    result = trained["result"]
    settings = trained["settings"]
    lineage = result.lineage  # type: ignore[attr-defined]
    assert lineage["principal"] == "bob"
    assert lineage["dataset"]["row_count"] == ROWS
    assert "name" not in lineage["dataset"]["columns"]
    assert lineage["model"]["sha256"] == result.bundle.model_sha256  # type: ignore[attr-defined]
    # The diagnosis is learnable: clearly better than always predicting the majority class.
    metrics = lineage["metrics"]
    assert metrics["accuracy"] > metrics["majority_class_accuracy"] + 0.1
    on_disk = json.loads(result.lineage_path.read_text())  # type: ignore[attr-defined]
    assert on_disk == lineage
    model = load_model(result.bundle.directory, trust_store_from_settings(settings))  # type: ignore[attr-defined, arg-type]
    assert hasattr(model, "predict")
    db = sqlite3.connect(settings.home / "audit.db")  # type: ignore[attr-defined]
    dump = "\n".join(db.iterdump())
    assert result.run_id in dump and "model:train" in dump  # type: ignore[attr-defined]


def test_raw_identifiers_appear_nowhere(trained: dict[str, object]) -> None:
    files, settings, result = trained["files"], trained["settings"], trained["result"]
    secrets = _secrets()
    assert len(secrets) == ROWS * 3
    spec = load_spec(files.spec)  # type: ignore[attr-defined]
    auth = authorizer_from_settings(settings)  # type: ignore[arg-type]
    keyring = keyring_from_settings(settings)  # type: ignore[arg-type]
    data = load(
        spec, "training", "bob", authorizer=auth, pseudonymization_key=keyring.pseudonymization_key
    )
    features, labels = feature_matrix(data, "diagnosis")
    model = load_model(result.bundle.directory, trust_store_from_settings(settings))  # type: ignore[attr-defined, arg-type]
    matrix = model.named_steps["prepare"].transform(features)
    haystacks = {
        "training frame": features.astype(str).to_csv().encode(),
        "training matrix": matrix.tobytes() + repr(matrix.tolist()).encode(),
        "labels": labels.astype(str).to_csv().encode(),
        "model file": result.bundle.model_path.read_bytes(),  # type: ignore[attr-defined]
        "lineage": result.lineage_path.read_bytes(),  # type: ignore[attr-defined]
        "audit log": (settings.home / "audit.db").read_bytes(),  # type: ignore[attr-defined]
    }
    for where, blob in haystacks.items():
        leaked = [value for value in secrets if value.encode() in blob]
        assert not leaked, f"{where} contains raw values such as {leaked[:1]}"


def test_principal_without_model_train_is_refused_and_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files, settings = demo_setup(tmp_path, 200, 5)
    context = training_context_from_settings(settings)
    with pytest.raises(AccessDeniedError):
        train(load_spec(files.spec), "carol", context)
    context.audit.close()  # type: ignore[attr-defined]
    assert not settings.models_dir.exists() or not any(settings.models_dir.rglob("*.skops"))
    assert not settings.lineage_dir.exists() or not any(settings.lineage_dir.iterdir())
    cli = run_cli(capsys, "train", "--spec", str(files.spec), "--as", "carol")
    assert cli.exit_code == 1 and "access denied" in cli.err
    dump = "\n".join(sqlite3.connect(settings.home / "audit.db").iterdump())
    assert "carol" in dump and "model:train" in dump and "deny" in dump


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing-column", "missing from the data file"),
        ("ragged", "ragged row"),
        ("unknown-transform", "unknown transform"),
        ("unknown-estimator", "allow-list"),
        ("corrupt-parquet", "Parquet"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, words: str
) -> None:
    files, settings = demo_setup(tmp_path, 120, 9)
    spec_text = files.spec.read_text()
    data = files.data.read_bytes()
    if case == "missing-column":
        lines = data.decode().splitlines()
        files.data.write_text(
            "\n".join(
                ",".join(row.split(",")[:-1]) if i == 0 else row for i, row in enumerate(lines)
            )
            + "\n"
        )
    elif case == "ragged":
        files.data.write_bytes(data + b"P1,only,three\n")
    elif case == "unknown-transform":
        files.spec.write_text(spec_text.replace("sex: keep", "sex: shuffle", 1))
    elif case == "unknown-estimator":
        files.spec.write_text(
            spec_text.replace("sklearn.linear_model.LogisticRegression", "sklearn.svm.SVC")
        )
    else:
        (files.data.parent / "patients.parquet").write_bytes(b"PAR1garbagePAR1")
        files.spec.write_text(
            spec_text.replace("patients.csv", "patients.parquet").replace(
                "format: csv", "format: parquet"
            )
        )
    result = run_cli(capsys, "train", "--spec", str(files.spec), "--as", "bob")
    assert result.exit_code == 2, result.err
    assert words in result.err
    assert "Traceback" not in result.err
    assert len([line for line in result.err.splitlines() if line.strip()]) <= 3  # one wrapped line
    assert not settings.models_dir.exists() or not any(settings.models_dir.rglob("*"))
    assert not settings.lineage_dir.exists() or not any(settings.lineage_dir.iterdir())


def test_cli_train_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files, settings = demo_setup(tmp_path, 200, 11)
    result = run_cli(capsys, "train", "--spec", str(files.spec), "--as", "bob", "--json")
    assert result.exit_code == 0, result.err
    record = json.loads(result.out)
    bundle = settings.models_dir / "diagnosis-classifier" / record["run_id"]
    assert run_cli(capsys, "model", "verify", str(bundle)).exit_code == 0

"""Live evidence checks against real files, signatures and the audit log."""

from __future__ import annotations

from pathlib import Path

from bastion.core.settings import load_settings
from bastion.risk.evidence import (
    check_audit_log,
    check_dataset_pseudonymizes,
    check_gateway_config,
    check_models_signed,
)

SPEC = """version: 1
name: notes
source: {path: notes.csv, format: csv}
columns:
  patient_id: {class: direct_identifier, dtype: string}
  note: {class: sensitive, dtype: text}
  dx: {class: label, dtype: category}
label: dx
purposes:
  training:
    columns:
      patient_id: PATIENT
      dx: keep
"""


def test_gateway_config_verified_and_failing() -> None:
    path = Path("bastion.toml")
    path.write_text('[serving]\nrate_limits_principal = ["5/second"]\n', encoding="utf-8")
    assert check_gateway_config(path)[0] == "verified"
    path.write_text("[serving]\nrate_limits_principal = []\n", encoding="utf-8")
    assert check_gateway_config(path) == (
        "failing",
        "no per-principal rate limit (serving.rate_limits_principal is empty)",
    )
    path.write_text("[serving]\nfail_open = true\n", encoding="utf-8")
    assert check_gateway_config(path)[0] == "failing"
    path.write_text("[serving]\nnot_a_setting = 1\n", encoding="utf-8")
    assert check_gateway_config(path)[0] == "failing"
    assert check_gateway_config(Path("absent.toml"))[0] == "unverified"


def test_dataset_spec_must_transform_direct_identifiers() -> None:
    path = Path("notes.spec.yaml")
    path.write_text(SPEC.replace("PATIENT", "pseudonymize"), encoding="utf-8")
    assert check_dataset_pseudonymizes(path)[0] == "verified"
    path.write_text(SPEC.replace("PATIENT", "drop"), encoding="utf-8")
    assert check_dataset_pseudonymizes(path)[0] == "verified"
    path.write_text(SPEC.replace("PATIENT", "keep"), encoding="utf-8")
    status, detail = check_dataset_pseudonymizes(path)
    assert status == "failing" and "patient_id" in detail
    assert check_dataset_pseudonymizes(Path("absent.yaml"))[0] == "unverified"


def test_models_must_be_signed_by_a_trusted_key() -> None:
    from sklearn.linear_model import LogisticRegression

    from bastion.pipeline import save_model, signer_from_settings
    from bastion.secrets import keyring_from_settings

    settings = load_settings()
    keyring_from_settings(settings).init()
    store = Path("models")
    assert check_models_signed(store, None)[0] == "unverified"
    store.mkdir()
    assert check_models_signed(store, None)[0] == "failing"  # empty store
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    save_model(
        model, store / "dx", signer=signer_from_settings(settings), lineage={"purpose": "test"}
    )
    status, detail = check_models_signed(store, None)
    assert status == "verified", detail
    model_file = next(store.rglob("*.skops"))
    model_file.write_bytes(model_file.read_bytes() + b"tampered")
    assert check_models_signed(store, None)[0] == "failing"


def test_audit_log_check_uses_bastion_audit() -> None:
    from bastion.audit import open_audit_log
    from bastion.secrets import keyring_from_settings

    settings = load_settings()
    keyring_from_settings(settings).init()
    with open_audit_log(settings) as log:
        log.append(principal="p", action="risk:test", resource="r", outcome="success", details={})
    status, detail = check_audit_log(None)
    assert status == "verified", detail

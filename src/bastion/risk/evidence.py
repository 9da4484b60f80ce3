"""Live evidence: checks that a claimed control is actually in place.

A control is *verified* when every check declared for it passes, *failing* when
one fails, and *unverified* when no check is declared or a check could not run.
Only claimed controls that are verified, or claimed without any declared check,
reduce residual risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.core.errors import BastionError, IntegrityError
from bastion.risk.model import EvidenceCheck, SystemModel

MODEL_SUFFIXES = frozenset(
    {".skops", ".safetensors", ".onnx", ".pt", ".pth", ".pkl", ".joblib", ".bin", ".gguf", ".h5"}
)


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check."""

    control: str
    kind: str
    status: str  # verified | failing | unverified
    detail: str
    checked_at: str | None


@dataclass(frozen=True)
class ControlEvidence:
    """Aggregated evidence for one claimed control."""

    control: str
    status: str
    declared_check: bool
    checks: tuple[CheckResult, ...]

    @property
    def effective(self) -> bool:
        """Reduces risk: verified, or claimed with no check declared."""
        return self.status == "verified" or (
            self.status == "unverified" and not self.declared_check
        )


def _settings(config: Path | None) -> Any:
    from bastion.core.settings import load_settings

    return load_settings(config)


def check_gateway_config(path: Path) -> tuple[str, str]:
    """The gateway settings must rate-limit every principal and never fail open.

    Authentication is not optional in the gateway (there is no setting that turns
    it off), so a valid ``[serving]`` section implies it; what can be weakened by
    configuration is rate limiting, which is what we check.
    """
    if not path.is_file():
        return "unverified", f"gateway settings {path.name} not found"
    try:
        serving = _settings(path).serving
    except BastionError as exc:
        return "failing", f"gateway settings do not load: {exc}"
    if not serving.rate_limits_principal:
        return "failing", "no per-principal rate limit (serving.rate_limits_principal is empty)"
    if serving.fail_open:
        return "failing", "serving.fail_open admits requests when the rate-limit store is down"
    limits = ", ".join(serving.rate_limits_principal)
    return "verified", f"authentication required; per-principal limits {limits}; fails closed"


def check_models_signed(path: Path, config: Path | None) -> tuple[str, str]:
    """Every model artifact under a directory must carry a signature from a trusted key."""
    if not path.is_dir():
        return "unverified", f"model directory {path.name} not found"
    models = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in MODEL_SUFFIXES)
    if not models:
        return "failing", f"no model artifacts in {path.name}"
    try:
        from bastion.pipeline import trust_store_from_settings, verify_model

        trust = trust_store_from_settings(_settings(config))
    except ImportError:
        return "unverified", "bastion.pipeline is not installed"
    except BastionError as exc:
        return "unverified", f"trusted keys unavailable: {exc}"
    failures = []
    for model in models:
        try:
            verify_model(model, trust)
        except BastionError as exc:
            failures.append(f"{model.name}: {exc.message.split(': ', 1)[-1]}")
    if failures:
        return (
            "failing",
            f"{len(failures)} of {len(models)} models fail verification: "
            + "; ".join(failures[:3]),
        )
    return "verified", f"{len(models)} models signed by a trusted key"


def check_dataset_pseudonymizes(path: Path) -> tuple[str, str]:
    """Every purpose of a dataset spec must drop or transform every direct identifier."""
    if not path.is_file():
        return "unverified", f"dataset spec {path.name} not found"
    try:
        from bastion.pipeline import load_spec

        spec = load_spec(path)
    except ImportError:
        return "unverified", "bastion.pipeline is not installed"
    except BastionError as exc:
        return "failing", f"dataset spec does not load: {exc}"
    direct = sorted(n for n, c in spec.columns.items() if c.classification == "direct_identifier")
    if not direct:
        return "unverified", f"{path.name} declares no direct-identifier columns"
    exposed = [
        f"{purpose.name}.{column}"
        for purpose in spec.purposes.values()
        for column, transform in purpose.transforms.items()
        if column in direct and transform.kind == "keep"
    ]
    if exposed:
        return "failing", f"direct identifiers kept as is: {', '.join(exposed)}"
    return "verified", f"{len(direct)} direct identifiers dropped or transformed in every purpose"


def check_audit_log(config: Path | None) -> tuple[str, str]:
    """The tamper-evident audit log must verify end to end (via ``bastion.audit``)."""
    try:
        from bastion.audit import open_audit_log
    except ImportError:
        return "unverified", "bastion.audit is not available in this installation"
    try:
        with open_audit_log(_settings(config)) as log:
            report = log.verify()
    except IntegrityError as exc:
        return "failing", f"audit log does not verify: {exc}"
    except BastionError as exc:
        return "unverified", f"audit log could not be checked: {exc}"
    if not report.ok:
        return "failing", "audit log does not verify"
    return "verified", "audit log hash chain and checkpoints verify"


def run_check(check: EvidenceCheck, checked_at: str | None) -> CheckResult:
    """Run one declared check; never raises for a broken target, it reports it."""
    if check.kind == "audit_log_verifies":
        status, detail = check_audit_log(check.config)
    elif check.path is None:
        status, detail = "unverified", f"check {check.kind} needs a 'path'"
    elif check.kind == "gateway_config":
        status, detail = check_gateway_config(check.path)
    elif check.kind == "models_signed":
        status, detail = check_models_signed(check.path, check.config)
    else:
        status, detail = check_dataset_pseudonymizes(check.path)
    return CheckResult(check.control, check.kind, status, detail, checked_at)


def gather_evidence(model: SystemModel, checked_at: str | None) -> dict[str, ControlEvidence]:
    """Evidence for every claimed control (and for controls with a check but no claim)."""
    results: dict[str, list[CheckResult]] = {}
    for check in model.evidence:
        results.setdefault(check.control, []).append(run_check(check, checked_at))
    evidence: dict[str, ControlEvidence] = {}
    for control in sorted(model.claimed_controls() | set(results)):
        checks = tuple(results.get(control, ()))
        if not checks:
            status = "unverified"
        elif any(c.status == "failing" for c in checks):
            status = "failing"
        elif all(c.status == "verified" for c in checks):
            status = "verified"
        else:
            status = "unverified"
        evidence[control] = ControlEvidence(control, status, bool(checks), checks)
    return evidence

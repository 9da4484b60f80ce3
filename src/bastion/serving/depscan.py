"""``bastion scan deps``: dependency vulnerabilities from pip-audit (and trivy), gated on severity.

Both tools need the network (vulnerability databases), so the scanners run as
subprocesses and this module only parses their JSON and decides; the parsing
and the gate are tested on recorded outputs.  pip-audit reports no severity,
so its findings count as ``unknown``, which gates like ``high`` unless the
caller says otherwise: a finding nobody rated must not pass silently.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bastion.core.errors import ConfigError, ServiceUnavailableError, ValidationError

SEVERITIES = ("low", "medium", "high", "critical")
_RANK = {name: index for index, name in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerable package."""

    tool: str
    package: str
    version: str
    vulnerability: str
    severity: str  # low, medium, high, critical or unknown
    fixed_in: tuple[str, ...] = ()
    target: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "package": self.package,
            "version": self.version,
            "vulnerability": self.vulnerability,
            "severity": self.severity,
            "fixed_in": list(self.fixed_in),
            "target": self.target,
        }


def _load(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"not JSON ({exc.args[0]})", file=source) from None


def parse_pip_audit(text: str, source: str = "pip-audit") -> list[Finding]:
    """Findings from ``pip-audit -f json`` (both the object and the older list layout)."""
    data = _load(text, source)
    deps = data.get("dependencies") if isinstance(data, Mapping) else data
    if not isinstance(deps, list):
        raise ValidationError("expected a 'dependencies' list", file=source, field="dependencies")
    findings = []
    for index, dep in enumerate(deps):
        if not isinstance(dep, Mapping):
            raise ValidationError("not an object", file=source, field=f"dependencies.{index}")
        for vuln in dep.get("vulns", []) or []:
            if not isinstance(vuln, Mapping) or "id" not in vuln:
                raise ValidationError(
                    "vulnerability without an id", file=source, field=f"dependencies.{index}.vulns"
                )
            findings.append(
                Finding(
                    "pip-audit",
                    str(dep.get("name", "?")),
                    str(dep.get("version", "?")),
                    str(vuln["id"]),
                    "unknown",
                    tuple(str(v) for v in vuln.get("fix_versions", []) or []),
                )
            )
    return findings


def parse_trivy(text: str, source: str = "trivy") -> list[Finding]:
    """Findings from ``trivy image --format json``."""
    data = _load(text, source)
    if not isinstance(data, Mapping):
        raise ValidationError("expected an object", file=source)
    results = data.get("Results") or []
    if not isinstance(results, list):
        raise ValidationError("expected a list", file=source, field="Results")
    findings = []
    for index, result in enumerate(results):
        if not isinstance(result, Mapping):
            raise ValidationError("not an object", file=source, field=f"Results.{index}")
        for vuln in result.get("Vulnerabilities") or []:
            if not isinstance(vuln, Mapping) or "VulnerabilityID" not in vuln:
                raise ValidationError(
                    "vulnerability without an id",
                    file=source,
                    field=f"Results.{index}.Vulnerabilities",
                )
            severity = str(vuln.get("Severity", "UNKNOWN")).lower()
            fixed = str(vuln.get("FixedVersion") or "")
            findings.append(
                Finding(
                    "trivy",
                    str(vuln.get("PkgName", "?")),
                    str(vuln.get("InstalledVersion", "?")),
                    str(vuln["VulnerabilityID"]),
                    severity if severity in _RANK else "unknown",
                    tuple(part.strip() for part in fixed.split(",") if part.strip()),
                    str(result.get("Target", "")),
                )
            )
    return findings


def gate(
    findings: Iterable[Finding],
    fail_on: str,
    *,
    unknown_as: str = "high",
    ignore: Sequence[str] = (),
) -> list[Finding]:
    """The findings at or above ``fail_on`` (``unknown`` counted as ``unknown_as``)."""
    for name, value in (("fail_on", fail_on), ("unknown_as", unknown_as)):
        if value not in _RANK:
            raise ConfigError(f"--{name.replace('_', '-')} must be one of {', '.join(SEVERITIES)}")
    threshold = _RANK[fail_on]
    ignored = set(ignore)
    blocking = []
    for finding in findings:
        if finding.vulnerability in ignored:
            continue
        severity = unknown_as if finding.severity == "unknown" else finding.severity
        if _RANK[severity] >= threshold:
            blocking.append(finding)
    return blocking


def run_pip_audit(timeout: float = 600.0) -> str:
    """Run pip-audit on this environment and return its JSON (needs the network)."""
    command = [sys.executable, "-m", "pip_audit", "-f", "json", "--progress-spinner", "off"]
    return _run(command, "pip-audit", timeout, ok_codes=(0, 1))


def trivy_available() -> bool:
    """True when a ``trivy`` binary is on PATH."""
    return shutil.which("trivy") is not None


def run_trivy(image: str, timeout: float = 900.0) -> str:
    """Run ``trivy image`` on ``image`` and return its JSON (needs the network)."""
    return _run(["trivy", "image", "--quiet", "--format", "json", image], "trivy", timeout, (0,))


def _run(command: list[str], tool: str, timeout: float, ok_codes: tuple[int, ...]) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argument vector, no shell
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise ConfigError(
            f"{tool} is not installed (pip install pip-audit / install trivy)"
        ) from None
    except subprocess.TimeoutExpired:
        raise ServiceUnavailableError(f"{tool} did not finish within {timeout:.0f} s") from None
    if done.returncode not in ok_codes or not done.stdout.strip():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ServiceUnavailableError(f"{tool} failed (exit {done.returncode}): {last}")
    return done.stdout

"""Reports: deterministic bytes, complete or absent, self-contained HTML, and the worked example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bastion.risk import assess, write_reports
from bastion.risk import report as report_module
from tests.risk.helpers import write_system

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "clinical-notes"
AS_OF = "2026-01-15T09:00:00.000000Z"
EXPECTED = {
    "report.md",
    "report.html",
    "register.json",
    "register.csv",
    "dfd.mmd",
    "dfd.dot",
    "heatmap-inherent.png",
    "heatmap-residual.png",
    "incident-response.md",
    "monitoring-plan.md",
}


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_assess_twice_gives_byte_identical_files() -> None:
    system = EXAMPLE / "system.yaml"
    write_reports(assess(system, as_of=AS_OF), Path("a"))
    write_reports(assess(system, as_of=AS_OF), Path("b"))
    first, second = snapshot(Path("a")), snapshot(Path("b"))
    assert set(first) >= EXPECTED
    assert first == second


def test_committed_example_reports_are_current() -> None:
    for system, folder in (("system.yaml", "report"), ("system-llm.yaml", "report-llm")):
        committed = EXAMPLE / folder
        result = assess(
            EXAMPLE / system, previous_register=committed / "register.json", as_of=AS_OF
        )
        write_reports(result, Path(folder))
        fresh = snapshot(Path(folder))
        old = {k: v for k, v in snapshot(committed).items() if k != "dfd.svg"}
        fresh.pop("dfd.svg", None)
        assert fresh == old, f"regenerate {folder}: see examples/clinical-notes/README.md"


def test_no_partial_report_on_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(report_module, "heatmap_png", broken)
    with pytest.raises(RuntimeError):
        write_reports(assess(write_system(Path("system.yaml"))), Path("out"))
    assert not Path("out").exists() or not any(Path("out").iterdir())


def test_existing_files_in_out_dir_are_left_alone() -> None:
    Path("out").mkdir()
    Path("out/keep.txt").write_text("mine", encoding="utf-8")
    write_reports(assess(write_system(Path("system.yaml"))), Path("out"))
    assert Path("out/keep.txt").read_text(encoding="utf-8") == "mine"
    assert not [p for p in Path("out").iterdir() if p.name.startswith(".")]


def test_html_is_self_contained_and_readable() -> None:
    write_reports(assess(EXAMPLE / "system.yaml", as_of=AS_OF), Path("out"))
    html = Path("out/report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2
    assert "<script" not in html and "<link" not in html and 'src="http' not in html
    for heading in (
        "Summary",
        "EU AI Act risk tier",
        "Top risks",
        "Threats per element",
        "Framework coverage",
    ):
        assert heading in html
    assert "high-risk" in html and "AML.T0024.000" in html and "164.312(b)" in html
    assert Path("out/heatmap-inherent.png").read_bytes().startswith(b"\x89PNG")


def test_mermaid_diagram_has_boundaries_and_counts() -> None:
    write_reports(assess(EXAMPLE / "system.yaml", as_of=AS_OF), Path("out"))
    mermaid = Path("out/dfd.mmd").read_text(encoding="utf-8")
    assert mermaid.startswith("flowchart LR")
    assert "subgraph n_b_data-platform".replace("-", "_") in mermaid
    assert "threats" in mermaid and "==>" in mermaid


def example_register() -> tuple[list[dict[str, Any]], Any]:
    result = assess(EXAMPLE / "system.yaml", as_of=AS_OF)
    return result.active, result


def test_example_phi_flows_and_stores_have_cia_and_privacy_threats() -> None:
    active, result = example_register()
    model = result.model

    def carries_phi(element_id: str) -> bool:
        touching = [f for f in model.flows.values() if element_id in (f.source, f.target)]
        return "phi" in model.elements[element_id].data or any("phi" in f.data for f in touching)

    phi_targets = [f.id for f in model.flows.values() if "phi" in f.data]
    phi_targets += [
        e.id
        for e in model.elements.values()
        if e.type in ("data_store", "dataset", "feature_store") and carries_phi(e.id)
    ]
    assert len(phi_targets) >= 8 and "raw-notes" in phi_targets
    for target in phi_targets:
        entries = [e for e in active if e["target"] == target]
        tags = {t for e in entries for t in e["stride"]}
        assert {"I", "T"} <= tags, target
        assert any(e["category"] == "linddun" for e in entries), target


def test_example_ml_threats_carry_atlas_ids() -> None:
    active, _ = example_register()
    ml = [e for e in active if e["category"] == "ml"]
    assert ml and all(e["atlas"] for e in ml)
    assert {"AML.T0024.000", "AML.T0024.001", "AML.T0020"} <= {a for e in ml for a in e["atlas"]}


def test_example_residual_lower_exactly_where_controls_are_effective() -> None:
    active, result = example_register()
    controls = result.catalogue.controls
    for entry in active:
        effective = [
            controls[m["control"]] for m in entry["mitigations"] if m["state"] == "effective"
        ]
        can_reduce = any(
            (c.reduces_likelihood and entry["likelihood"] > 1)
            or (c.reduces_impact and entry["impact"] > 1)
            for c in effective
        )
        assert (entry["residual_score"] < entry["inherent_score"]) == can_reduce, entry["id"]
    unverified = [
        e
        for e in active
        if e["target"] == "model-store"
        and any(m["control"] == "model-signing" for m in e["mitigations"])
    ]
    assert unverified and all(
        m["state"] == "unverified"
        for e in unverified
        for m in e["mitigations"]
        if m["control"] == "model-signing"
    )


def test_llm_variant_flags_sovereignty_dpa_injection_and_audit_gap() -> None:
    result = assess(EXAMPLE / "system-llm.yaml", as_of=AS_OF)
    rules = {e["rule"] for e in result.active}
    assert {
        "third-party.data-sovereignty",
        "third-party.audit-gap",
        "llm.prompt-injection.direct",
        "llm.prompt-injection.indirect",
        "llm.sensitive-disclosure",
    } <= rules
    sovereignty = next(e for e in result.active if e["rule"] == "third-party.data-sovereignty")
    assert "LLM02" in sovereignty["owasp_llm"]
    assert any(
        m["control"] == "vendor-dpa" and m["state"] == "effective"
        for m in sovereignty["mitigations"]
    )
    assert any(t.suppressed and t.suppressed.startswith("assumption") for t in result.threats)

"""Rule firing, explanations, suppression and the safe condition language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.core.errors import ValidationError
from bastion.risk import assess, build_catalogue, threat_id
from bastion.risk.catalogue import element_field
from bastion.risk.conditions import MISSING, compile_condition
from tests.risk.helpers import copy_base, write_system


def rules_on(result: Any, target: str) -> dict[str, Any]:
    return {t.rule.id: t for t in result.threats if t.target == target}


def test_phi_store_gets_confidentiality_integrity_and_privacy_threats() -> None:
    result = assess(write_system(Path("system.yaml")))
    fired = rules_on(result, "notes")
    assert {"stride.element.disclosure-store", "stride.element.tampering-store"} <= set(fired)
    assert any(t.rule.category == "linddun" for t in fired.values())
    why = fired["stride.element.disclosure-store"].why
    assert "type = data_store" in why and "data includes phi" in why


def test_flow_rules_explain_and_adjust_for_plaintext() -> None:
    result = assess(write_system(Path("system.yaml")))
    plain = rules_on(result, "f2")["stride.flow.disclosure-in-transit"]
    tls = rules_on(result, "f1")["stride.flow.disclosure-in-transit"]
    assert plain.likelihood > tls.likelihood
    assert "not encrypted" in plain.rationale
    spoof = rules_on(result, "f1")
    assert "stride.flow.spoofing-unauthenticated" not in spoof  # oauth2 on f1


def test_ml_threats_carry_atlas_ids() -> None:
    result = assess(write_system(Path("system.yaml")))
    fired = rules_on(result, "api")
    assert fired["ml.membership-inference"].rule.atlas == ("AML.T0024.000",)
    assert fired["ml.model-extraction"].rule.atlas[0] == "AML.T0024.002"
    atlas = result.catalogue.atlas
    for threat in result.threats:
        assert all(t in atlas for t in threat.rule.atlas)


def test_threat_ids_are_stable_hashes() -> None:
    result = assess(write_system(Path("system.yaml")))
    for threat in result.threats:
        assert threat.id == threat_id(threat.rule.id, threat.target)


def test_claimed_control_suppresses_with_reason() -> None:
    document = copy_base()
    document["elements"][1]["controls"] = ["audit-logging"]
    result = assess(write_system(Path("system.yaml"), document))
    repudiation = rules_on(result, "api")["stride.element.repudiation-sensitive"]
    assert repudiation.suppressed is not None and "audit-logging" in repudiation.suppressed
    assert repudiation.id not in {e["id"] for e in result.active}


def test_assumption_suppresses_with_reason() -> None:
    document = copy_base()
    document["elements"][1]["assumptions"] = [
        {"rule": "ml.model-extraction", "reason": "model is public anyway"}
    ]
    result = assess(write_system(Path("system.yaml"), document))
    extraction = rules_on(result, "api")["ml.model-extraction"]
    assert extraction.suppressed == "assumption: model is public anyway"


def test_atlas_assumption_suppresses_every_rule_with_that_technique() -> None:
    document = copy_base()
    document["elements"][1]["assumptions"] = [
        {"atlas": "AML.T0024.000", "reason": "no scores returned"}
    ]
    result = assess(write_system(Path("system.yaml"), document))
    assert rules_on(result, "api")["ml.membership-inference"].suppressed is not None
    assert rules_on(result, "api")["ml.model-inversion"].suppressed is None


def test_failing_evidence_neither_suppresses_nor_reduces(tmp_path: Path) -> None:
    Path("gateway.toml").write_text("[serving]\nfail_open = true\n", encoding="utf-8")
    document = copy_base()
    document["elements"][1]["controls"] = ["rate-limiting"]
    document["evidence"] = [
        {"control": "rate-limiting", "check": "gateway_config", "path": "gateway.toml"}
    ]
    failing = assess(write_system(Path("system.yaml"), document))
    assert failing.evidence["rate-limiting"].status == "failing"
    entry = next(e for e in failing.active if e["rule"] == "ml.model-extraction")
    assert {m["control"]: m["state"] for m in entry["mitigations"]}["rate-limiting"] == "failing"
    assert entry["residual_score"] == entry["inherent_score"]

    Path("gateway.toml").write_text("[serving]\nfail_open = false\n", encoding="utf-8")
    verified = assess(write_system(Path("system.yaml"), document))
    assert verified.evidence["rate-limiting"].status == "verified"
    entry = next(e for e in verified.active if e["rule"] == "ml.model-extraction")
    assert entry["residual_score"] < entry["inherent_score"]


def write_rule(body: str) -> Path:
    path = Path("extra.yaml")
    path.write_text("rules:\n" + body, encoding="utf-8")
    return path


RULE = """  - id: custom.rule
    title: t
    scope: element
    category: ml
    when: {field: type, in: [model]}
    likelihood: 2
    impact: 2
    rationale: r
    playbook: poisoning
"""


def test_extra_rule_file_is_loaded() -> None:
    catalogue = build_catalogue((write_rule(RULE),))
    assert "custom.rule" in {r.id for r in catalogue.rules}


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (("likelihood: 2", "likelihood: 6"), "1 to 5"),
        (("playbook: poisoning", "playbook: poisoning\n    atlas: [AML.T0999]"), "ATLAS id"),
        (("field: type", "field: __class__"), "unknown condition field"),
        (("in: [model]", "matches: [model]"), "operator"),
        (("playbook: poisoning", "playbook: poisoning\n    mitigations: [prayer]"), "mitigations"),
        (("playbook: poisoning", "playbook: poisoning\n    owasp_llm: [LLM11]"), "owasp_llm"),
    ],
)
def test_bad_rule_files_are_rejected_with_location(replace: tuple[str, str], message: str) -> None:
    path = write_rule(RULE.replace(*replace))
    with pytest.raises(ValidationError) as caught:
        build_catalogue((path,))
    assert message in str(caught.value) and caught.value.file == "extra.yaml"
    assert caught.value.line is not None


def test_every_rule_is_specific() -> None:
    """No rule fires on a bare element type: each needs at least one more property."""
    catalogue = build_catalogue()
    generic = [r.id for r in catalogue.rules if r.when.op == "in" and r.when.field == "type"]
    assert generic == ["ml.model-tampering", "third-party.supply-chain"]  # inherent to the asset


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=8,
)


@given(values)
def test_condition_evaluation_never_raises(value: Any) -> None:
    conditions = [
        {"field": "data", "any_of": ["phi"]},
        {"field": "type", "in": ["model"]},
        {"field": "exposed", "is": True},
        {"field": "properties.x", "exists": True},
        {"not": {"field": "type", "equals": "model"}},
    ]
    for raw in conditions:
        condition = compile_condition(raw, element_field, "when")
        ok, why = condition.evaluate(lambda _name: value)
        assert isinstance(ok, bool) and isinstance(why, list)
        condition.evaluate(lambda _name: MISSING)


@given(st.dictionaries(st.text(max_size=6), values, max_size=4))
def test_condition_compiler_rejects_garbage_cleanly(raw: dict[str, Any]) -> None:
    """Arbitrary mappings either compile or raise ValidationError, never anything else."""
    try:
        compiled = compile_condition(raw, element_field, "when")
    except ValidationError as exc:
        assert exc.field is not None
    else:
        assert compiled.op in ("all", "any", "not", "in", "any_of", "equals", "is", "exists")

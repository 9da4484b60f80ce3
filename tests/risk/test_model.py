"""System-model validation: every bad input names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.core.errors import ValidationError
from bastion.risk import default_catalogue, load_system
from tests.risk.helpers import copy_base, write_system


def load(path: Path):  # type: ignore[no-untyped-def]
    catalogue = default_catalogue()
    return load_system(path, controls=catalogue.controls, atlas=catalogue.atlas)


def test_valid_model_loads_with_boundaries_and_implied_controls() -> None:
    model = load(write_system(Path("system.yaml")))
    assert set(model.elements) == {"doctor", "api", "notes"}
    assert (
        model.flows["f1"].encrypted
        and "encryption-in-transit" in model.flows["f1"].implied_controls
    )
    assert not model.flows["f2"].encrypted and not model.flows["f2"].implied_controls


def test_unknown_element_type_names_file_line_field() -> None:
    path = Path("system.yaml")
    path.write_text(
        "system: {name: x}\nelements:\n  - id: a\n    type: databse\n", encoding="utf-8"
    )
    with pytest.raises(ValidationError) as caught:
        load(path)
    error = caught.value
    assert error.file == "system.yaml" and error.line == 4 and error.field == "elements[a].type"
    assert "databse" in str(error) and "data_store" in str(error)


def test_dangling_flow_endpoint() -> None:
    document = copy_base()
    document["flows"][0]["to"] = "nowhere"
    with pytest.raises(ValidationError) as caught:
        load(write_system(Path("system.yaml"), document))
    assert caught.value.field == "flows[f1].to" and "dangling" in str(caught.value)
    assert caught.value.line is not None


def test_include_cycle_is_reported_at_the_include() -> None:
    Path("a.yaml").write_text("system: {name: x}\ninclude: [b.yaml]\n", encoding="utf-8")
    Path("b.yaml").write_text("include:\n  - a.yaml\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load(Path("a.yaml"))
    assert "cycle" in str(caught.value) and caught.value.file == "b.yaml"
    assert caught.value.field == "include" and caught.value.line == 2


def test_includes_merge_fragments() -> None:
    Path("frag.yaml").write_text(
        "elements:\n  - {id: extra, type: process, boundary: platform}\n", encoding="utf-8"
    )
    document = copy_base()
    document["include"] = ["frag.yaml"]
    model = load(write_system(Path("system.yaml"), document))
    assert "extra" in model.elements and len(model.files) == 2


def test_unknown_control_is_rejected() -> None:
    document = copy_base()
    document["elements"][2]["controls"] = ["magic-shield"]
    with pytest.raises(ValidationError) as caught:
        load(write_system(Path("system.yaml"), document))
    assert caught.value.field == "elements[notes].controls" and "magic-shield" in str(caught.value)


def test_unknown_atlas_id_in_assumption_is_rejected() -> None:
    document = copy_base()
    document["elements"][1]["assumptions"] = [{"atlas": "AML.T9999", "reason": "n/a"}]
    with pytest.raises(ValidationError) as caught:
        load(write_system(Path("system.yaml"), document))
    assert "AML.T9999" in str(caught.value) and caught.value.field.endswith(".atlas")


def test_assumption_needs_a_reason() -> None:
    document = copy_base()
    document["elements"][1]["assumptions"] = [{"rule": "ml.model-extraction", "reason": " "}]
    with pytest.raises(ValidationError, match="reason"):
        load(write_system(Path("system.yaml"), document))


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["elements"][2].update(data=["secret-sauce"]), "elements[notes].data"),
        (lambda d: d["elements"].append(dict(d["elements"][0])), "elements[doctor].id"),
        (lambda d: d["elements"][0].update(boundary="mars"), "elements[doctor].boundary"),
        (lambda d: d["flows"][0].update(authentication="wink"), "flows[f1].authentication"),
        (lambda d: d["elements"][0].update(colour="red"), "elements[0].colour"),
        (
            lambda d: d.update(evidence=[{"control": "rate-limiting", "check": "vibes"}]),
            "evidence[0].check",
        ),
    ],
)
def test_other_bad_input(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    document = copy_base()
    mutate(document)
    with pytest.raises(ValidationError) as caught:
        load(write_system(Path("system.yaml"), document))
    assert caught.value.field == field
    assert caught.value.file == "system.yaml" and caught.value.line is not None


def test_yaml_syntax_error_has_line() -> None:
    path = Path("system.yaml")
    path.write_text("system: {name: x}\nelements: [\n  - id: a\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load(path)
    assert caught.value.line is not None and caught.value.file == "system.yaml"


def test_missing_file() -> None:
    with pytest.raises(ValidationError, match="not found"):
        load(Path("absent.yaml"))


def test_assumption_naming_an_unknown_rule_is_rejected() -> None:
    from bastion.risk import assess

    document = copy_base()
    document["elements"][1]["assumptions"] = [{"rule": "ml.no-such-rule", "reason": "typo"}]
    with pytest.raises(ValidationError) as caught:
        assess(write_system(Path("system.yaml"), document))
    assert "ml.no-such-rule" in str(caught.value) and caught.value.line is not None

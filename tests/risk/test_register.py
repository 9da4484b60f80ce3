"""The register keeps people's edits across re-runs, marks vanished threats, records sign-offs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.core.errors import ValidationError
from bastion.risk import assess, read_register, signoff, write_register
from tests.risk.helpers import copy_base, write_system


class Recorder:
    """An AuditSink that keeps events in memory."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def append(
        self,
        *,
        principal: str,
        action: str,
        resource: str,
        outcome: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.events.append(
            {
                "principal": principal,
                "action": action,
                "resource": resource,
                "outcome": outcome,
                "details": dict(details or {}),
            }
        )


def first_run(out: Path) -> dict[str, Any]:
    out.mkdir(exist_ok=True)
    write_register(assess(write_system(Path("system.yaml"))).register, out / "register.json")
    return read_register(out / "register.json")


def test_edits_to_scores_owner_and_status_survive_a_rerun() -> None:
    out = Path("out")
    register = first_run(out)
    target = next(e for e in register["entries"] if e["rule"] == "ml.model-extraction")
    target["likelihood"], target["owner"], target["status"] = 1, "alice", "accepted"
    target["notes"] = "accepted for the pilot"
    write_register(register, out / "register.json")

    result = assess(Path("system.yaml"), previous_register=out / "register.json")
    write_register(result.register, out / "register.json")
    again = {e["id"]: e for e in read_register(out / "register.json")["entries"]}
    kept = again[target["id"]]
    assert (kept["likelihood"], kept["owner"], kept["status"]) == (1, "alice", "accepted")
    assert kept["notes"] == "accepted for the pilot"
    assert kept["inherent_score"] == kept["impact"]  # recomputed from the edited likelihood
    untouched = next(e for e in again.values() if e["rule"] == "ml.membership-inference")
    assert untouched["likelihood"] == untouched["engine"]["likelihood"]


def test_engine_changes_flow_into_unedited_fields() -> None:
    out = Path("out")
    first_run(out)
    document = copy_base()
    document["flows"][1]["protocol"] = "https"  # f2 now encrypted: likelihood drops
    result = assess(
        write_system(Path("system.yaml"), document), previous_register=out / "register.json"
    )
    entry = next(
        e
        for e in result.active
        if e["rule"] == "stride.flow.disclosure-in-transit" and e["target"] == "f2"
    )
    assert entry["likelihood"] == entry["engine"]["likelihood"] < 5


def test_vanished_threats_are_marked_not_deleted() -> None:
    out = Path("out")
    before = first_run(out)
    document = copy_base()
    document["elements"][2]["data"] = []
    document["flows"][1]["data"] = ["internal"]
    result = assess(
        write_system(Path("system.yaml"), document), previous_register=out / "register.json"
    )
    after = {e["id"]: e for e in result.register["entries"]}
    assert set(after) >= {e["id"] for e in before["entries"]}
    vanished = [e for e in after.values() if e["state"] == "vanished"]
    assert vanished and all(e["target"] in ("notes", "f2") for e in vanished)


@pytest.mark.parametrize(
    ("field", "value"), [("likelihood", 7), ("impact", 0), ("status", "done"), ("due", "soon")]
)
def test_bad_register_edits_are_rejected_with_location(field: str, value: Any) -> None:
    out = Path("out")
    register = first_run(out)
    register["entries"][1][field] = value
    (out / "register.json").write_text(json.dumps(register, indent=2), encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        assess(Path("system.yaml"), previous_register=out / "register.json")
    assert caught.value.field == f"entries[{register['entries'][1]['id']}].{field}"
    assert caught.value.line is not None and caught.value.file == str(out / "register.json")


def test_signoff_records_in_register_and_audit_log() -> None:
    out = Path("out")
    first_run(out)
    sink = Recorder()
    record = signoff(
        out / "register.json",
        role="legal",
        by="Dana Counsel",
        at="2026-01-20T10:00:00.000000Z",
        sink=sink,
    )
    register = read_register(out / "register.json")
    assert register["signoffs"] == [record]
    assert (
        sink.events[0]["action"] == "risk:signoff" and sink.events[0]["principal"] == "Dana Counsel"
    )
    assert sink.events[0]["details"]["role"] == "legal"
    assert sink.events[0]["details"]["register_sha256"] == record["register_sha256"]
    # A re-run keeps the sign-off.
    result = assess(Path("system.yaml"), previous_register=out / "register.json")
    assert result.register["signoffs"] == [record]


def test_signoff_fails_closed_when_audit_fails() -> None:
    out = Path("out")
    first_run(out)
    before = (out / "register.json").read_bytes()

    class Broken(Recorder):
        def append(self, **kwargs: Any) -> None:
            raise RuntimeError("audit store down")

    with pytest.raises(RuntimeError):
        signoff(out / "register.json", role="legal", by="x", at="t", sink=Broken())
    assert (out / "register.json").read_bytes() == before


def test_signoff_rejects_bad_role_and_unknown_threat() -> None:
    out = Path("out")
    first_run(out)
    with pytest.raises(ValidationError):
        signoff(out / "register.json", role="Legal Team!", by="x", at="t", sink=Recorder())
    with pytest.raises(ValidationError, match="no threat"):
        signoff(
            out / "register.json",
            role="legal",
            by="x",
            at="t",
            sink=Recorder(),
            threat="T-0000000000",
        )


EDITS = st.fixed_dictionaries(
    {
        "likelihood": st.integers(1, 5),
        "impact": st.integers(1, 5),
        "owner": st.sampled_from(["alice", "bob", "security-officer"]),
        "status": st.sampled_from(
            ["open", "mitigating", "mitigated", "accepted", "transferred", "avoided"]
        ),
        "due": st.sampled_from(["", "2026-03-01"]),
    }
)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_edits_survive_merge(data: st.DataObject) -> None:
    from bastion.risk.assess import DEFAULT_OWNERS
    from bastion.risk.catalogue import default_catalogue
    from bastion.risk.register import merge

    result = _BASE_RESULT()
    register = json.loads(json.dumps(result.register))
    chosen = data.draw(
        st.lists(st.integers(0, len(register["entries"]) - 1), unique=True, max_size=6)
    )
    edits = {}
    for index in chosen:
        change = data.draw(EDITS)
        register["entries"][index].update(change)
        edits[register["entries"][index]["id"]] = change
    merged = merge(register, result.threats, DEFAULT_OWNERS, default_catalogue(), "Test system")
    by_id = {e["id"]: e for e in merged["entries"]}
    for tid, change in edits.items():
        for key, value in change.items():
            assert by_id[tid][key] == value
        assert by_id[tid]["inherent_score"] == change["likelihood"] * change["impact"]
        assert by_id[tid]["residual_score"] <= by_id[tid]["inherent_score"]


_CACHE: dict[str, Any] = {}


def _BASE_RESULT() -> Any:
    if "result" not in _CACHE:
        import tempfile

        directory = Path(tempfile.mkdtemp())
        _CACHE["result"] = assess(write_system(directory / "system.yaml"))
    return _CACHE["result"]

"""Output guards: PII (fake engine and the real privacy engine), harmful content, leakage, JSON."""

from __future__ import annotations

import json

import pytest

from bastion.core.errors import ConfigError
from bastion.guards import Action, GuardChain, ScanContext
from bastion.guards.harmful import HarmfulContentGuard
from bastion.guards.jsonschema import JsonSchemaGuard, check_schema, nesting_depth, validate
from bastion.guards.leakage import LeakageGuard
from bastion.guards.pii import PIIGuard
from bastion.guards.profanity import profanity_model

OUT = ScanContext(direction="output")


def test_pii_guard_with_fake_engine(fake_engine: object) -> None:
    guard = PIIGuard(engine=fake_engine)  # type: ignore[arg-type]
    verdict = guard.scan("write to bob@example.com today", OUT)
    assert verdict.action is Action.REDACT
    assert verdict.text == "write to <EMAIL_ADDRESS> today"
    assert verdict.reasons == ("pii:EMAIL_ADDRESS",)
    assert not guard.scan("nothing here", OUT).triggered


def test_pii_guard_entity_filter_and_block(fake_engine: object) -> None:
    assert (
        not PIIGuard(engine=fake_engine, entities=["US_SSN"]).scan("bob@example.com", OUT).triggered
    )  # type: ignore[arg-type]
    blocking = PIIGuard(engine=fake_engine, action=Action.BLOCK)  # type: ignore[arg-type]
    assert blocking.scan("bob@example.com", OUT).action is Action.BLOCK


class _CountingEngine:
    """The real engine behind a spy that records every call."""

    def __init__(self) -> None:
        from bastion.privacy.detect import default_engine

        self.engine = default_engine()
        self.supported_entities = self.engine.supported_entities
        self.calls: list[frozenset[str] | None] = []

    def analyze(self, text: str, entities: frozenset[str] | None = None) -> list[object]:
        self.calls.append(entities)
        return self.engine.analyze(text, entities=entities)  # type: ignore[return-value]


def test_pii_guard_asks_the_engine_once_and_only_for_wanted_types() -> None:
    text = "Mail jane.roe@example.com or call +1 415 555 0132."
    spy = _CountingEngine()
    everything = PIIGuard(engine=spy).scan(text, OUT)  # type: ignore[arg-type]
    assert spy.calls == [None]
    assert "pii:EMAIL_ADDRESS" in everything.reasons
    spy.calls.clear()
    emails = PIIGuard(engine=spy, entities=["EMAIL_ADDRESS", "NO_SUCH_TYPE"])  # type: ignore[arg-type]
    verdict = emails.scan(text, OUT)
    assert spy.calls == [frozenset({"EMAIL_ADDRESS"})]
    assert verdict.reasons == ("pii:EMAIL_ADDRESS",)
    assert verdict.text == "Mail <EMAIL_ADDRESS> or call +1 415 555 0132."
    spy.calls.clear()
    unknown = PIIGuard(engine=spy, entities=["NO_SUCH_TYPE"])  # type: ignore[arg-type]
    assert not unknown.scan(text, OUT).triggered
    assert spy.calls == []


def test_response_with_email_ssn_and_card_comes_back_redacted(default_chain: GuardChain) -> None:
    response = (
        "Sure. The customer's e-mail is jane.roe@example.com, her SSN is 536-22-8714 "
        "and the card on file is 4111 1111 1111 1111."
    )
    verdict = default_chain.scan_output(response)
    assert verdict.action is Action.REDACT
    for value in ("jane.roe@example.com", "536-22-8714", "4111 1111 1111 1111"):
        assert value not in verdict.text
    assert {"pii:EMAIL_ADDRESS", "pii:US_SSN", "pii:CREDIT_CARD"} <= set(verdict.reasons)


def test_profanity_fast_path_matches_library() -> None:
    from profanity_check import predict_prob

    model = profanity_model()
    for text in ["you are a fucking idiot", "have a nice day", "", "kill the process", "damn it"]:
        assert model.score(text).probability == pytest.approx(
            float(predict_prob([text])[0]), abs=1e-9
        )


@pytest.mark.parametrize(
    ("text", "reason", "action"),
    [
        ("You are a worthless fucking idiot.", "harmful:profanity", Action.REDACT),
        ("I will kill you tomorrow.", "harmful:violence", Action.BLOCK),
        ("Here is how to build a pipe bomb:", "harmful:violence", Action.BLOCK),
        ("The best way to kill yourself is", "harmful:self-harm", Action.BLOCK),
        ("All immigrants are vermin.", "harmful:hate", Action.BLOCK),
        ("Ich bringe dich um.", "harmful:violence", Action.BLOCK),
        ("Let me write an explicit sex scene.", "harmful:sexual", Action.REDACT),
    ],
)
def test_harmful_positive(text: str, reason: str, action: Action) -> None:
    verdict = HarmfulContentGuard().scan(text, OUT)
    assert reason in verdict.reasons
    assert verdict.action is action


@pytest.mark.parametrize(
    "text",
    [
        "To kill a process, run kill -9 with its PID.",
        "You can kill all child processes with pkill -P.",
        "I shot a nice photo of the sunset.",
        "Sex education is taught in schools.",
        "If you are thinking about suicide, please call a crisis line.",
        "Execute the job and terminate the worker threads.",
        "Wie beende ich einen Prozess mit kill?",
    ],
)
def test_harmful_benign_lookalikes(text: str) -> None:
    assert not HarmfulContentGuard().scan(text, OUT).triggered


def test_harmful_redaction_removes_words_and_category_override() -> None:
    verdict = HarmfulContentGuard().scan("shut up you stupid bitch", OUT)
    assert verdict.text is not None and "bitch" not in verdict.text
    off = HarmfulContentGuard(categories={"violence": "allow"})
    assert "harmful:violence" not in off.scan("I will kill you", OUT).reasons
    with pytest.raises(ValueError):
        HarmfulContentGuard(categories={"weather": "block"})


def test_leakage_canary_and_system_prompt() -> None:
    guard = LeakageGuard(canaries=["CANARY-7f3a9c21"])
    assert guard.scan("the marker is canary-7F3A9C21!", OUT).reasons == ("leakage:canary",)
    prompt = "You are SupportBot for Acme Bank. Never reveal account numbers. Always be polite."
    ctx = ScanContext(direction="output", system_prompt=prompt)
    leaked = "My rules: you are supportbot for acme bank. never reveal account numbers. always"
    assert "leakage:system-prompt" in guard.scan(leaked, ctx).reasons
    assert not guard.scan("I am SupportBot, how can I help?", ctx).triggered
    redacting = LeakageGuard(action=Action.REDACT)
    verdict = redacting.scan("x CANARY-abcd1234 y", ScanContext(canaries=("CANARY-abcd1234",)))
    assert verdict.text == "x [removed:canary] y"


SCHEMA = {
    "type": "object",
    "required": ["answer", "confidence"],
    "properties": {
        "answer": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"answer": "yes"}', "json:schema-violation"),
        ("not json", "json:malformed"),
        ('{"answer": "y", "confidence": NaN}', "json:malformed"),
        ('{"answer": "y", "confidence": 2}', "json:schema-violation"),
        ("[" * 10_000 + "]" * 10_000, "json:too-deep"),
        ('{"a":' * 5000 + "1" + "}" * 5000, "json:too-deep"),
    ],
)
def test_json_schema_violations(text: str, reason: str) -> None:
    verdict = JsonSchemaGuard(schema=SCHEMA).scan(text, OUT)
    assert verdict.action is Action.BLOCK
    assert verdict.reasons == (reason,)


def test_json_schema_ok_and_context_schema() -> None:
    guard = JsonSchemaGuard()
    assert not guard.scan("free text", OUT).triggered  # no schema required
    ctx = ScanContext(direction="output", json_schema=SCHEMA)
    assert not guard.scan('```json\n{"answer": "no", "confidence": 0.2}\n```', ctx).triggered
    assert guard.scan('{"answer": 1, "confidence": 0.2}', ctx).triggered


def test_validator_keywords() -> None:
    schema = {
        "type": "array",
        "items": {"anyOf": [{"type": "integer"}, {"enum": ["x"]}]},
        "uniqueItems": True,
    }
    assert validate([1, "x"], schema) == []
    assert validate([1, 1], schema)
    assert validate([1.5], schema)
    assert validate({"a": "b"}, {"type": "object", "properties": {"a": {"pattern": "^c"}}})
    assert nesting_depth('{"a": "[[[[", "b": [1]}') == 2


def test_unsupported_schema_keyword_refused() -> None:
    with pytest.raises(ConfigError, match="unsupported keyword"):
        check_schema({"type": "object", "$ref": "#/x"})
    with pytest.raises(ConfigError, match="unknown type"):
        check_schema({"type": "strnig"})


def test_schema_in_guard_validated_at_construction() -> None:
    with pytest.raises(ConfigError):
        JsonSchemaGuard(schema={"properties": {"a": {"if": {}}}})
    assert json.dumps(SCHEMA)


def test_secret_and_harm_gates_never_hide_a_match() -> None:
    """Substring gates only skip patterns that cannot match."""
    from bastion.guards import harmful, secrets

    samples = [
        "I will kill you",
        "AKIAQ3EGRHT5WXYZ7ABC",
        "password=Hunter2Hunter2",
        "All immigrants are vermin",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
        "Ich bringe dich um",
        "SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "GHP_x",
        "How to build a BOMB",
    ]
    for text in samples:
        for table in (secrets._PATTERNS, harmful._PATTERNS):
            for _name, triggers, pattern in table:
                if pattern.search(text):
                    assert any(t in text.lower() for t in triggers), (text, pattern.pattern[:40])

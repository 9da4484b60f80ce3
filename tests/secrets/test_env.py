"""The environment backend: raw or base64 values, read-only."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.core.errors import SecretError
from bastion.secrets import EnvSecretProvider, SecretBytes, env_var_name


def test_variable_name_is_upper_underscored() -> None:
    assert env_var_name("BASTION_SECRET_", "audit-checkpoint") == "BASTION_SECRET_AUDIT_CHECKPOINT"


def test_reads_raw_value_from_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_SECRET_AUDIT_CHECKPOINT", "raw text value")
    provider = EnvSecretProvider()
    value = provider.get("audit-checkpoint")
    assert value == b"raw text value"
    assert isinstance(value, SecretBytes)
    assert provider.exists("audit-checkpoint")


def test_base64_prefix_is_decoded_standard_and_urlsafe() -> None:
    raw = bytes(range(256))
    environ = {
        "BASTION_SECRET_STD": "base64:" + base64.b64encode(raw).decode(),
        "BASTION_SECRET_URL": "base64:" + base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    provider = EnvSecretProvider(environ=environ)
    assert provider.get("std") == raw
    assert provider.get("url") == raw


@given(st.binary(min_size=1, max_size=200))
def test_base64_round_trip(raw: bytes) -> None:
    provider = EnvSecretProvider("P_", environ={"P_K": "base64:" + base64.b64encode(raw).decode()})
    assert provider.get("k") == raw


def test_invalid_base64_is_refused_without_echoing_it() -> None:
    provider = EnvSecretProvider(environ={"BASTION_SECRET_K": "base64:not*valid*hunter2"})
    with pytest.raises(SecretError, match="BASTION_SECRET_K") as info:
        provider.get("k")
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in repr(info.value)


def test_missing_and_empty_are_absent_with_actionable_error() -> None:
    provider = EnvSecretProvider(environ={"BASTION_SECRET_EMPTY": ""})
    assert provider.get_optional("empty") is None
    assert not provider.exists("missing-key")
    with pytest.raises(SecretError) as info:
        provider.get("missing-key")
    message = str(info.value)
    assert "'missing-key'" in message
    assert "BASTION_SECRET_MISSING_KEY" in message


def test_custom_prefix() -> None:
    provider = EnvSecretProvider("MYAPP_", environ={"MYAPP_TOKEN_SIGNING": "v"})
    assert provider.get("token-signing") == b"v"
    assert provider.get_optional("model-signing") is None


def test_env_backend_is_read_only() -> None:
    environ = {"BASTION_SECRET_K": "old"}
    provider = EnvSecretProvider(environ=environ)
    for overwrite in (False, True):
        with pytest.raises(SecretError, match="read-only") as info:
            provider.put("k", b"new-value-xyz", overwrite=overwrite)
        assert "new-value-xyz" not in str(info.value)
    assert environ == {"BASTION_SECRET_K": "old"}


def test_describe_and_repr_never_show_values() -> None:
    provider = EnvSecretProvider(environ={"BASTION_SECRET_K": "hunter2"})
    assert "hunter2" not in provider.describe()
    assert "hunter2" not in repr(provider)


def test_invalid_name_refused_before_lookup() -> None:
    provider = EnvSecretProvider(environ={"BASTION_SECRET_A_B": "v"})
    with pytest.raises(SecretError, match="invalid secret name"):
        provider.get("A_B")

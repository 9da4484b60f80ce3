from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.core import ValidationError, load_settings, redacted_view
from bastion.core.errors import ConfigError
from bastion.core.settings import locate_key_line, redact_url


def test_defaults_are_embedded_and_offline() -> None:
    settings = load_settings()
    assert settings.secrets.backend == "file"
    assert settings.audit_url.startswith("sqlite:///")
    assert settings.policy_path == Path(".bastion/policy.yaml")


def test_toml_file_then_environment_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bastion.toml").write_text(
        '[audit]\ncheckpoint_every = 10\n[secrets]\nbackend = "env"\n'
    )
    assert load_settings().audit.checkpoint_every == 10
    monkeypatch.setenv("BASTION_AUDIT__CHECKPOINT_EVERY", "7")
    settings = load_settings()
    assert settings.audit.checkpoint_every == 7
    assert settings.secrets.backend == "env"


def test_bad_value_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "conf.toml"
    path.write_text('home = "x"\n\n[audit]\ncheckpoint_every = "many"\n')
    with pytest.raises(ValidationError) as info:
        load_settings(path)
    assert info.value.line == 4
    assert info.value.field == "audit.checkpoint_every"
    assert "conf.toml:4" in str(info.value)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "conf.toml"
    path.write_text("[audit]\ncheckpoint_evrey = 3\n")
    with pytest.raises(ValidationError) as info:
        load_settings(path)
    assert info.value.field == "audit.checkpoint_evrey"
    assert info.value.line == 2


def test_broken_toml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "conf.toml"
    path.write_text('home = "a"\n[audit\n')
    with pytest.raises(ValidationError) as info:
        load_settings(path)
    assert info.value.line == 2


def test_missing_explicit_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml")


def test_secrets_never_in_redacted_view(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_SECRETS__VAULT_TOKEN", "s.super-secret-token")
    monkeypatch.setenv("BASTION_AUDIT__URL", "postgresql://bob:hunter2pw@db/audit")
    settings = load_settings()
    text = repr(redacted_view(settings)) + repr(settings) + str(settings)
    assert "super-secret-token" not in text
    assert "hunter2pw" not in text


@given(st.text(alphabet=st.characters(blacklist_characters=":/@\n"), min_size=1, max_size=20))
def test_redact_url_hides_any_password(password: str) -> None:
    assert redact_url(f"postgresql://user:{password}@host/db") == "postgresql://user:***@host/db"


def test_locate_key_line_in_nested_tables() -> None:
    text = "a = 1\n[secrets]\nbackend = 'x'\n[audit]\nurl = 'y'\n"
    assert locate_key_line(text, ["audit", "url"]) == 5
    assert locate_key_line(text, ["secrets", "backend"]) == 3

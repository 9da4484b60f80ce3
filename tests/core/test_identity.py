from __future__ import annotations

import pytest

from bastion.core import Principal, ValidationError, principal_from_cli


@pytest.mark.parametrize("bad", ["", "bob\n", "bob smith", "-x", "a" * 129, "bob\x00"])
def test_malformed_principal_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        Principal(bad)


def test_cli_flag_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_PRINCIPAL", "env-user")
    chosen = principal_from_cli("alice")
    assert chosen is not None and chosen.id == "alice" and chosen.authenticated_by == "cli"
    from_env = principal_from_cli(None)
    assert from_env is not None and from_env.authenticated_by == "env"

from __future__ import annotations

import pytest

from bastion.core.errors import ConfigError
from bastion.core.sql import parse_store_url


def test_bare_postgresql_urls_use_psycopg_3() -> None:
    url = parse_store_url("postgresql://bob:pw@db/audit", what="audit")
    assert url.drivername == "postgresql+psycopg"
    assert parse_store_url("postgresql+psycopg2://h/d", what="x").drivername.endswith("psycopg2")
    assert parse_store_url("sqlite:///a.db", what="x").get_backend_name() == "sqlite"


def test_malformed_url_names_the_store_and_hides_the_password() -> None:
    with pytest.raises(ConfigError) as info:
        parse_store_url("not a url :// bob:hunter2@", what="key store")
    assert "key store URL" in str(info.value)
    assert "hunter2" not in str(info.value)

"""Parsing the SQL store URLs every room accepts, one way.

The audit log, the API-key store and the monitor store all take a SQLAlchemy
URL: SQLite by default, PostgreSQL through psycopg 3.  A bare ``postgresql://``
URL is pointed at psycopg so users need not know SQLAlchemy's driver names.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError

from bastion.core.errors import ConfigError
from bastion.core.settings import redact_url


def parse_store_url(url: str, *, what: str) -> URL:
    """A SQLAlchemy URL for ``what`` (e.g. "audit"), with PostgreSQL routed to psycopg 3."""
    try:
        parsed = sa.make_url(url)
    except ArgumentError:
        raise ConfigError(f"{what} URL {redact_url(url)!r} is not a valid SQLAlchemy URL") from None
    # A bare "postgresql://" means SQLAlchemy's default driver, psycopg2, which we do not ship.
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed

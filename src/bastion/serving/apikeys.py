"""API keys: printed once, stored as a SHA-256 digest behind a lookup prefix.

A key looks like ``bsk_<prefix>_<secret>``: the 12-hex-digit prefix finds the
row, the 256-bit secret is never stored (only the digest of the whole key),
and the digest is compared in constant time.  The store (SQLite by default,
PostgreSQL by URL; the audit store's URL unless ``serving.keys_url`` says
otherwise) keeps a *revision* counter that every create, revoke and rotate
bumps in the same transaction.  A process caches the rows it has verified,
keyed by prefix, and on every request reads only that one counter: while it is
unchanged the cached row is used (expiry is still checked against the clock),
and as soon as any process changes a key the counter moves and the cache is
dropped, so revocation stays effective for the very next request everywhere.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.exc import SQLAlchemyError

from bastion.core.crypto import b64encode, constant_time_equal, random_bytes, sha256_hex
from bastion.core.errors import (
    ConfigError,
    NotFoundError,
    ServiceUnavailableError,
    ValidationError,
)
from bastion.core.settings import Settings, redact_url
from bastion.core.sql import parse_store_url
from bastion.core.timeutil import isoformat, parse_iso, utcnow

KEY_PREFIX = "bsk"
_KEY_SHAPE = re.compile(r"^bsk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DURATION = re.compile(r"^(\d{1,5})([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}

#: Scopes an API key or token may carry, and the access action each one grants.
SCOPE_ACTIONS: dict[str, str] = {
    "predict": "predict",
    "guard": "guard:scan",
    "admin": "keys:admin",
}
KNOWN_SCOPES = frozenset(SCOPE_ACTIONS)

# Reason codes (stable, audited).
KEY_MISSING = "key-missing"
KEY_MALFORMED = "key-malformed"
KEY_UNKNOWN = "key-unknown"
KEY_WRONG = "key-wrong"
KEY_REVOKED = "key-revoked"
KEY_EXPIRED = "key-expired"


def parse_scopes(text: str | Iterable[str]) -> frozenset[str]:
    """Validate a comma-separated (or listed) set of scopes against :data:`KNOWN_SCOPES`."""
    items = text.split(",") if isinstance(text, str) else list(text)
    scopes = frozenset(item.strip() for item in items if item.strip())
    if not scopes:
        raise ValidationError("give at least one scope", field="scopes")
    unknown = sorted(scopes - KNOWN_SCOPES)
    if unknown:
        raise ValidationError(
            f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_SCOPES))}",
            field="scopes",
        )
    return scopes


def parse_duration(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``45s`` or ``2w`` as a positive timedelta."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValidationError(
            "durations look like 90d, 12h, 30m, 45s or 2w (a positive number and a unit)",
            field="expires",
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def check_name(name: str) -> str:
    """Key names become principal ids (``key:<name>``), so they share that alphabet."""
    if not _NAME.fullmatch(name):
        raise ValidationError(
            "key names are 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit",
            field="name",
        )
    return name


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """What is stored about a key (never the key itself)."""

    prefix: str
    name: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def principal_id(self) -> str:
        """The identity requests made with this key act as."""
        return f"key:{self.name}"

    def state(self, now: datetime | None = None) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, object]:
        """Stable JSON shape for the CLI."""
        return {
            "prefix": self.prefix,
            "name": self.name,
            "scopes": sorted(self.scopes),
            "created_at": isoformat(self.created_at),
            "expires_at": isoformat(self.expires_at) if self.expires_at else None,
            "revoked_at": isoformat(self.revoked_at) if self.revoked_at else None,
            "state": self.state(),
        }


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key: ``plaintext`` is shown once and then forgotten."""

    plaintext: str
    record: ApiKeyRecord

    def __repr__(self) -> str:
        return f"IssuedKey(prefix={self.record.prefix!r}, name={self.record.name!r})"


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """The result of verifying a presented key: a record when valid, else a reason code."""

    record: ApiKeyRecord | None
    reason: str

    @property
    def valid(self) -> bool:
        return self.record is not None


CACHE_ENTRIES = 1024


@dataclass(frozen=True, slots=True)
class _Cached:
    digest: str
    record: ApiKeyRecord


def _digest(plaintext: str) -> str:
    return sha256_hex(plaintext.encode("ascii"))


class ApiKeyStore:
    """API keys in one SQL table (``<prefix>_api_keys``)."""

    def __init__(self, url: str, *, table_prefix: str = "bastion") -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", table_prefix):
            raise ConfigError(f"table prefix {table_prefix!r} must be lowercase letters/digits/_")
        self._url = url
        parsed = parse_store_url(url, what="key store")
        kwargs: dict[str, object] = {"pool_pre_ping": True}
        self._sqlite = parsed.get_backend_name() == "sqlite"
        if self._sqlite:
            kwargs = {"connect_args": {"timeout": 10}}
        self._engine: Engine = sa.create_engine(parsed, **kwargs)
        if self._sqlite:
            sa.event.listen(self._engine, "connect", _sqlite_wal)
        self._local = threading.local()  # per-thread raw connection for the revision read
        self._cache: dict[str, _Cached] = {}
        self._cache_revision: int | None = None
        self._cache_lock = threading.Lock()
        metadata = sa.MetaData()
        self._table = sa.Table(
            f"{table_prefix}_api_keys",
            metadata,
            sa.Column("prefix", sa.String(12), primary_key=True),
            sa.Column("name", sa.String(64), nullable=False, unique=True),
            sa.Column("digest", sa.String(64), nullable=False),
            sa.Column("scopes", sa.String(256), nullable=False),
            sa.Column("created_at", sa.String(32), nullable=False),
            sa.Column("expires_at", sa.String(32), nullable=True),
            sa.Column("revoked_at", sa.String(32), nullable=True),
        )
        self._revisions = sa.Table(
            f"{table_prefix}_api_keys_revision",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("revision", sa.BigInteger, nullable=False),
        )
        # table_prefix is validated above (lowercase letters, digits, _), so this is no injection.
        self._revision_sql = f"SELECT revision FROM {table_prefix}_api_keys_revision WHERE id = 1"  # noqa: S608
        try:
            metadata.create_all(self._engine)
            with self._engine.begin() as conn:
                if conn.execute(sa.select(self._revisions.c.id)).first() is None:
                    conn.execute(self._revisions.insert().values(id=1, revision=0))
        except SAIntegrityError:
            pass  # another process inserted the counter row first
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None

    def __repr__(self) -> str:
        return f"ApiKeyStore({redact_url(self._url)!r})"

    def _unavailable(self, exc: BaseException) -> ServiceUnavailableError:
        first = str(getattr(exc, "orig", exc)).strip().splitlines()
        return ServiceUnavailableError(
            f"key store {redact_url(self._url)} unavailable: {first[0] if first else exc}"
        )

    def close(self) -> None:
        """Release pooled connections."""
        self._drop_local_connection()
        self._engine.dispose()

    @property
    def reads_are_local(self) -> bool:
        """True for SQLite (WAL: a read never waits on a writer), so callers may skip a thread."""
        return self._sqlite

    def _bump(self, conn: sa.Connection) -> None:
        """Advance the revision inside a writing transaction: every cache is now stale."""
        conn.execute(
            self._revisions.update()
            .where(self._revisions.c.id == 1)
            .values(revision=self._revisions.c.revision + 1)
        )

    def _drop_local_connection(self) -> None:
        pooled = getattr(self._local, "pooled", None)
        self._local.pooled = self._local.conn = None
        if pooled is not None:
            try:
                pooled.close()
            except Exception:  # a broken connection is discarded either way
                return

    def revision(self) -> int:
        """The store's current revision (one tiny read; raw DBAPI on a per-thread connection)."""
        try:
            if not self._sqlite:
                with self._engine.connect() as sa_conn:
                    value = sa_conn.execute(sa.text(self._revision_sql)).scalar_one()
                return int(value)
            conn = getattr(self._local, "conn", None)
            if conn is None:
                # Keep the pool's checkout (``pooled``) and read through the driver's own
                # connection: the pool proxy's cursor() wrapper cost more than the read.
                pooled = self._local.pooled = self._engine.raw_connection()
                conn = self._local.conn = pooled.dbapi_connection
                if conn is None:
                    raise RuntimeError("the pool returned no connection")
            # fetchall() steps the statement to its end, which resets it: no read
            # snapshot stays open, so the next read sees every newer commit.
            rows = conn.execute(self._revision_sql).fetchall()
        except Exception as exc:  # fail closed: no revision, no cached answer
            self._drop_local_connection()
            raise self._unavailable(exc) from None
        if not rows:
            raise ServiceUnavailableError("key store revision row missing; recreate the store")
        return int(rows[0][0])

    def ping(self) -> None:
        """Raise ``ServiceUnavailableError`` unless the store answers."""
        try:
            with self._engine.connect() as conn:
                conn.execute(sa.select(sa.func.count()).select_from(self._table))
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None

    # Writing ----------------------------------------------------------------
    def create(
        self, name: str, scopes: Iterable[str], *, expires_in: timedelta | None = None
    ) -> IssuedKey:
        """Create a key named ``name``; the plaintext is returned once and never stored."""
        check_name(name)
        scope_set = parse_scopes(scopes)
        prefix = random_bytes(6).hex()
        plaintext = f"{KEY_PREFIX}_{prefix}_{b64encode(random_bytes(32))}"
        now = utcnow().replace(microsecond=0)
        record = ApiKeyRecord(
            prefix, name, scope_set, now, now + expires_in if expires_in else None, None
        )
        row = {
            "prefix": prefix,
            "name": name,
            "digest": _digest(plaintext),
            "scopes": ",".join(sorted(scope_set)),
            "created_at": isoformat(now),
            "expires_at": isoformat(record.expires_at) if record.expires_at else None,
            "revoked_at": None,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(self._table.insert().values(**row))
                self._bump(conn)
        except SAIntegrityError:
            raise ValidationError(
                f"a key named {name!r} already exists; revoke or rotate it", field="name"
            ) from None
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None
        return IssuedKey(plaintext, record)

    def revoke(self, name_or_prefix: str) -> ApiKeyRecord:
        """Revoke a key by name or prefix; effective for the next request in every process."""
        record = self.get(name_or_prefix)
        if record.revoked_at is not None:
            return record
        now = utcnow()
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    self._table.update()
                    .where(self._table.c.prefix == record.prefix)
                    .values(revoked_at=isoformat(now))
                )
                self._bump(conn)
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None
        return self.get(record.prefix)

    def rotate(self, name: str, *, expires_in: timedelta | None = None) -> IssuedKey:
        """Replace the key ``name`` by a new secret with the same scopes; the old one stops now."""
        old = self.get(name)
        if old.revoked_at is not None:
            raise ValidationError(f"key {name!r} is revoked; create a new one", field="name")
        keep = old.expires_at - old.created_at if old.expires_at and expires_in is None else None
        lifetime = expires_in or keep
        prefix = random_bytes(6).hex()
        plaintext = f"{KEY_PREFIX}_{prefix}_{b64encode(random_bytes(32))}"
        now = utcnow().replace(microsecond=0)
        expires_at = now + lifetime if lifetime else None
        try:
            with self._engine.begin() as conn:
                conn.execute(self._table.delete().where(self._table.c.prefix == old.prefix))
                self._bump(conn)
                conn.execute(
                    self._table.insert().values(
                        prefix=prefix,
                        name=old.name,
                        digest=_digest(plaintext),
                        scopes=",".join(sorted(old.scopes)),
                        created_at=isoformat(now),
                        expires_at=isoformat(expires_at) if expires_at else None,
                        revoked_at=None,
                    )
                )
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None
        return IssuedKey(plaintext, self.get(prefix))

    # Reading ----------------------------------------------------------------
    @staticmethod
    def _record(row: sa.Row[tuple[object, ...]]) -> ApiKeyRecord:
        mapping = row._mapping
        return ApiKeyRecord(
            prefix=str(mapping["prefix"]),
            name=str(mapping["name"]),
            scopes=frozenset(str(mapping["scopes"]).split(",")),
            created_at=parse_iso(str(mapping["created_at"])),
            expires_at=parse_iso(str(mapping["expires_at"])) if mapping["expires_at"] else None,
            revoked_at=parse_iso(str(mapping["revoked_at"])) if mapping["revoked_at"] else None,
        )

    def get(self, name_or_prefix: str) -> ApiKeyRecord:
        """The record with this name or prefix, or ``NotFoundError``."""
        table = self._table
        try:
            with self._engine.connect() as conn:
                row = conn.execute(
                    sa.select(table).where(
                        sa.or_(table.c.name == name_or_prefix, table.c.prefix == name_or_prefix)
                    )
                ).first()
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None
        if row is None:
            raise NotFoundError(f"no API key named {name_or_prefix!r}; see `bastion keys list`")
        return self._record(row)

    def list(self) -> list[ApiKeyRecord]:
        """Every key, newest first (revoked and expired ones included)."""
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    sa.select(self._table).order_by(
                        self._table.c.created_at.desc(), self._table.c.name
                    )
                ).all()
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None
        return [self._record(row) for row in rows]

    def verify(self, presented: str | None) -> KeyCheck:
        """Check a presented key (constant-time compare; a cached row only at the same revision)."""
        if not presented:
            return KeyCheck(None, KEY_MISSING)
        match = _KEY_SHAPE.fullmatch(presented)
        if match is None:
            return KeyCheck(None, KEY_MALFORMED)
        prefix = match.group(1)
        revision = self.revision()
        with self._cache_lock:
            if revision != self._cache_revision:
                self._cache.clear()
                self._cache_revision = revision
            cached = self._cache.get(prefix)
        if cached is None:
            cached = self._load(prefix)
            if cached is None:
                # Spend the same hashing work as a real comparison before answering.
                constant_time_equal(_digest(presented), "0" * 64)
                return KeyCheck(None, KEY_UNKNOWN)
            with self._cache_lock:
                if self._cache_revision == revision:
                    if len(self._cache) >= CACHE_ENTRIES:
                        self._cache.pop(next(iter(self._cache)))
                    self._cache[prefix] = cached
        if not constant_time_equal(_digest(presented), cached.digest):
            return KeyCheck(None, KEY_WRONG)
        state = cached.record.state()
        if state == "revoked":
            return KeyCheck(None, KEY_REVOKED)
        if state == "expired":
            return KeyCheck(None, KEY_EXPIRED)
        return KeyCheck(cached.record, "key-valid")

    def _load(self, prefix: str) -> _Cached | None:
        table = self._table
        try:
            with self._engine.connect() as conn:
                row = conn.execute(sa.select(table).where(table.c.prefix == prefix)).first()
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None
        if row is None:
            return None
        return _Cached(str(row._mapping["digest"]), self._record(row))


def _sqlite_wal(dbapi_connection: object, _record: object) -> None:
    """WAL journal: readers (the per-request revision read) never wait on a writer."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def key_store_url(settings: Settings) -> str:
    """The key store URL: ``serving.keys_url`` or the audit store's."""
    if settings.serving.keys_url is not None:
        return settings.serving.keys_url.get_secret_value()
    if settings.audit.url is None:
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return settings.audit_url


def key_store_from_settings(settings: Settings) -> ApiKeyStore:
    """The API-key store of ``settings`` (shares the audit database by default)."""
    return ApiKeyStore(key_store_url(settings))

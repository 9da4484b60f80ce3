"""One settings object from ``bastion.toml`` plus ``BASTION_*`` environment variables.

Precedence, highest first: explicit overrides, environment (``BASTION_AUDIT__URL``
style, ``__`` between levels), the TOML file, built-in defaults.  Defaults are
embedded and offline: SQLite under ``./.bastion/``, file-based secrets, memory
rate limits.  Malformed files are reported with file, line and field.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bastion.core.errors import ConfigError, ValidationError

DEFAULT_CONFIG_FILE = "bastion.toml"
ENV_PREFIX = "BASTION_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SecretsSettings(_Section):
    """Where Bastion's keys live."""

    backend: Literal["env", "file", "vault"] = "file"
    file_dir: Path | None = Field(
        default=None, description="directory of 0600 secret files; default <home>/secrets"
    )
    env_prefix: str = "BASTION_SECRET_"
    vault_addr: str = "http://127.0.0.1:8200"
    vault_token: SecretStr | None = None
    vault_namespace: str | None = None
    vault_mount: str = "secret"
    vault_path: str = "bastion"
    vault_cache_ttl_seconds: float = Field(default=60.0, ge=0)
    vault_timeout_seconds: float = Field(default=5.0, gt=0)
    vault_verify_tls: bool = True
    transit_mount: str | None = None
    transit_key: str | None = Field(default=None, description="Transit key for encrypt/decrypt")
    transit_signing_key: str | None = Field(
        default=None, description="Transit ed25519 key for sign/verify"
    )


class AuditSettings(_Section):
    """Where the tamper-evident audit log is stored and how often it is checkpointed."""

    url: SecretStr | None = Field(default=None, description="SQLAlchemy URL; default SQLite")
    checkpoint_every: int = Field(default=256, ge=1)
    table_prefix: str = Field(default="bastion_audit", pattern=r"^[a-z_][a-z0-9_]{0,40}$")
    busy_timeout_seconds: float = Field(
        default=10.0, gt=0, description="how long to wait for a locked SQLite file or a connection"
    )


class AccessSettings(_Section):
    """Authorization policy location."""

    policy: Path | None = Field(default=None, description="policy YAML; default <home>/policy.yaml")


class PipelineSettings(_Section):
    """Where trained models and lineage records live and which model signers are trusted."""

    models_dir: Path | None = Field(default=None, description="model store; default <home>/models")
    lineage_dir: Path | None = Field(
        default=None, description="lineage records; default <home>/lineage"
    )
    trusted_keys_dir: Path | None = Field(
        default=None,
        description="extra trusted signer public keys (*.pem); default <home>/trusted-keys",
    )
    extra_trusted_types: list[str] = Field(
        default_factory=list, description="skops types to trust beyond the built-in allow-list"
    )


class ServingSettings(_Section):
    """The model-serving gateway: listener, limits, authentication, adapter and guards."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="bigger bodies get 413")
    rate_limits_principal: list[str] = Field(
        default_factory=lambda: ["20/second", "10000/day"],
        description="limits strings applied per authenticated principal",
    )
    rate_limits_address: list[str] = Field(
        default_factory=lambda: ["50/second"], description="limits strings per client address"
    )
    rate_limit_cost_bytes: int = Field(
        default=0, ge=0, description="if > 0, each started block of this many bytes costs 1 hit"
    )
    redis_url: SecretStr | None = Field(
        default=None, description="shared rate-limit state; default process memory"
    )
    fail_open: bool = Field(
        default=False, description="admit requests when the rate-limit store is down"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="peers whose X-Forwarded-For is believed"
    )
    cors_origins: list[str] = Field(default_factory=list, description="CORS is off when empty")
    tls_cert: Path | None = None
    tls_key: Path | None = None
    keys_url: SecretStr | None = Field(
        default=None, description="API-key store SQLAlchemy URL; default the audit store"
    )
    jwt_issuer: str = "bastion"
    jwt_audience: str = "bastion-gateway"
    jwt_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=600)
    external_jwks_url: str | None = None
    external_jwks_file: Path | None = None
    external_issuer: str | None = None
    external_audience: str | None = None
    external_scopes_claim: str = "scope"
    adapter: Literal["vader", "skops", "kserve", "openai"] = "vader"
    model_name: str = Field(default="sentiment", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    model_path: Path | None = Field(default=None, description="skops bundle for adapter=skops")
    upstream_url: str | None = Field(default=None, description="model server for kserve/openai")
    upstream_model: str | None = None
    upstream_api_key: SecretStr | None = None
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    pseudonymize_upstream: bool = Field(
        default=True, description="replace PII by placeholders before it leaves (openai)"
    )
    guard_policy: Path | None = Field(default=None, description="guard policy; default no guards")
    audit_raw_text: bool = Field(default=False, description="store raw request text in audit")
    audit_batch_size: int = Field(default=256, ge=1)
    audit_flush_seconds: float = Field(default=0.5, gt=0)
    max_batch_items: int = Field(default=64, ge=1, le=10_000)
    max_text_chars: int = Field(default=20_000, ge=1)


class MonitorSettings(_Section):
    """Drift, fairness, abuse signals, alert rules, incidents (``bastion.monitor``)."""

    rules: Path | None = Field(default=None, description="alert rules YAML; default built-in rules")
    reference_profile: Path | None = Field(
        default=None, description="reference profile JSON shown on the dashboard"
    )
    current_data: Path | None = Field(
        default=None, description="current data (CSV/Parquet) compared on the dashboard"
    )
    predictions_log: Path | None = Field(
        default=None, description="logged predictions (CSV/JSONL) for the dashboard's fairness view"
    )
    labels_log: Path | None = Field(default=None, description="later-arriving labels (CSV/JSONL)")
    protected_attribute: str | None = Field(default=None, description="column for fairness gaps")
    webhook_url: str | None = Field(default=None, description="JSON POST sink for alerts")
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    table_prefix: str = Field(default="bastion_monitor", pattern=r"^[a-z_][a-z0-9_]{0,40}$")
    blocklist_refresh_seconds: float = Field(
        default=1.0, ge=0, description="how long the gateway caches the client blocklist"
    )
    dashboard_hours: int = Field(default=24, ge=1, le=24 * 90)


class Settings(BaseSettings):
    """The effective configuration of one Bastion process."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    home: Path = Field(default=Path(".bastion"), description="state directory")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)

    # Not a setting: where the values came from, for error messages and `config show`.
    source_file: Path | None = Field(default=None, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the file; the file arrives as init kwargs.
        return (env_settings, init_settings)

    # Derived locations -------------------------------------------------------
    @property
    def audit_url(self) -> str:
        """The audit store URL, defaulting to SQLite in the home directory."""
        if self.audit.url is not None:
            return self.audit.url.get_secret_value()
        return f"sqlite:///{(self.home / 'audit.db').resolve()}"

    @property
    def secrets_dir(self) -> Path:
        """Directory of the ``file`` secrets backend."""
        return self.secrets.file_dir or self.home / "secrets"

    @property
    def models_dir(self) -> Path:
        """Root of the model store."""
        return self.pipeline.models_dir or self.home / "models"

    @property
    def lineage_dir(self) -> Path:
        """Directory of lineage records."""
        return self.pipeline.lineage_dir or self.home / "lineage"

    @property
    def trusted_keys_dir(self) -> Path:
        """Directory of extra trusted model-signer public keys."""
        return self.pipeline.trusted_keys_dir or self.home / "trusted-keys"

    @property
    def policy_path(self) -> Path:
        """Location of the access policy file."""
        return self.access.policy or self.home / "policy.yaml"


def _config_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: configuration file not found")
        return explicit
    from_env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file named by BASTION_CONFIG not found")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def _read_toml(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration ({exc.strerror})") from exc
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise ValidationError(f"invalid TOML: {exc}", file=str(path), line=line) from exc


def locate_key_line(text: str, dotted: list[str]) -> int | None:
    """Best-effort line number of a dotted key in TOML or YAML-ish text, for error messages."""
    table: list[str] = []
    candidates = {".".join(dotted[:i]) for i in range(1, len(dotted) + 1)}
    best: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            table = [part.strip().strip("\"'") for part in header.group(1).split(".")]
            if ".".join(table) in candidates and best is None:
                best = number
            continue
        key = re.match(r"^([A-Za-z0-9_.\"'-]+)\s*=", line)
        if key:
            parts = table + [p.strip().strip("\"'") for p in key.group(1).split(".")]
            if parts == dotted[: len(parts)] and len(parts) >= 1:
                best = number
    return best


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Load the effective settings; raise ``ValidationError`` naming file, line and field."""
    path = _config_path(config)
    data: dict[str, Any] = {}
    text = ""
    if path is not None:
        data, text = _read_toml(path)
    data.update(overrides)
    try:
        settings = Settings(**data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"]]
        line = locate_key_line(text, loc) if text else None
        source = str(path) if path and line else "environment or file"
        raise ValidationError(
            first["msg"], file=source if path else None, line=line, field=".".join(loc)
        ) from None
    settings.source_file = path
    return settings


def redact_url(url: str) -> str:
    """Hide the password in a URL such as ``postgresql://user:pw@host/db``."""
    return re.sub(r"(://[^:/@]+:)[^@]*(@)", r"\1***\2", url)


def redacted_view(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data with every secret replaced by ``***``."""

    def walk(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return "***" if value.get_secret_value() else ""
        if isinstance(value, BaseModel):
            return {name: walk(getattr(value, name)) for name in type(value).model_fields}
        if isinstance(value, Path):
            return str(value)
        return value

    view: dict[str, Any] = walk(settings)
    view.pop("source_file", None)
    view["audit"]["effective_url"] = redact_url(settings.audit_url)
    view["source_file"] = str(settings.source_file) if settings.source_file else None
    return view

"""Build the pipeline's collaborators (keys, signer, trust, access, audit) from settings."""

from __future__ import annotations

from pathlib import Path

from bastion.core.errors import SecretError
from bastion.core.settings import Settings
from bastion.pipeline.signing import Ed25519Signer, ModelSigner, TransitSigner, TrustStore
from bastion.pipeline.store import DEFAULT_TRUSTED_TYPES
from bastion.pipeline.training import TrainingContext


def _transit_configured(settings: Settings) -> bool:
    return bool(settings.secrets.transit_mount and settings.secrets.transit_signing_key)


def _transit_key_id(settings: Settings) -> str:
    return f"{settings.secrets.transit_mount}/{settings.secrets.transit_signing_key}"


def signer_from_settings(settings: Settings) -> ModelSigner:
    """Transit when ``secrets.transit_signing_key`` is set, else the key ring's Ed25519 key."""
    if _transit_configured(settings):
        from bastion.secrets import transit_from_settings

        return TransitSigner(transit_from_settings(settings), _transit_key_id(settings))
    from bastion.secrets import keyring_from_settings

    return Ed25519Signer(keyring_from_settings(settings).model_signing_key())


def trust_store_from_settings(settings: Settings, *, extra_dir: Path | None = None) -> TrustStore:
    """Trust the configured signing key, the trusted-keys directory and, if set, Transit."""
    trust = TrustStore()
    from bastion.secrets import keyring_from_settings

    try:
        trust.add_public_key(keyring_from_settings(settings).model_signing_key().public_key())
    except SecretError as exc:
        # No local signing key is fine only if something else can vouch for models.
        if "not initialised" not in exc.message:
            raise
    trust.add_directory(settings.trusted_keys_dir)
    if extra_dir is not None:
        trust.add_directory(extra_dir)
    if _transit_configured(settings):
        from bastion.secrets import transit_from_settings

        trust.transit = transit_from_settings(settings)
        trust.transit_key_id = f"transit:{_transit_key_id(settings)}"
    return trust


def allowed_types_from_settings(settings: Settings) -> frozenset[str]:
    """The built-in skops type allow-list plus ``pipeline.extra_trusted_types``."""
    return DEFAULT_TRUSTED_TYPES | frozenset(settings.pipeline.extra_trusted_types)


def training_context_from_settings(settings: Settings) -> TrainingContext:
    """A training context using the configured policy, audit log and key ring."""
    from bastion.access import authorizer_from_settings
    from bastion.audit import open_audit_log
    from bastion.secrets import keyring_from_settings

    keyring = keyring_from_settings(settings)
    authorizer = authorizer_from_settings(settings)
    # One audit log for access decisions and run events keeps them in one chain.
    audit = authorizer.audit or open_audit_log(settings)
    return TrainingContext(
        authorizer=authorizer,
        audit=audit,
        pseudonymization_key=keyring.pseudonymization_key,
        signer=lambda: signer_from_settings(settings),
        models_dir=settings.models_dir,
        lineage_dir=settings.lineage_dir,
        allowed_types=allowed_types_from_settings(settings),
    )

"""The model store: skops files (never pickle), signed together with their lineage record.

A bundle is a directory::

    model.skops       the model, skops format
    lineage.json      the lineage record (carries the model's SHA-256)
    model.skops.sig   signature over the model and lineage digests

Bundles are written to a temporary sibling and renamed into place, so a failed
run leaves nothing behind.  Loading reads the file once into memory, verifies
digest and signature on those bytes, checks every type against an allow-list
and only then deserializes them: no window between check and use.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import skops.io as sio

from bastion.core import crypto
from bastion.core.errors import IntegrityError, NotFoundError
from bastion.pipeline.signing import ModelSigner, SignatureEnvelope, TrustStore, sign_model

MODEL_FILE = "model.skops"
SIGNATURE_FILE = "model.skops.sig"
LINEAGE_FILE = "lineage.json"

# Types skops does not trust by default but that scikit-learn models on the
# allow-list legitimately contain.  Anything else found in a file is refused.
DEFAULT_TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "numpy.dtype",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
    }
)


@dataclass(frozen=True)
class ModelBundle:
    """Where a saved model lives and the digests that bind it."""

    directory: Path
    model_sha256: str
    lineage_sha256: str
    key_id: str
    lineage: dict[str, Any]

    @property
    def model_path(self) -> Path:
        return self.directory / MODEL_FILE


@dataclass(frozen=True)
class VerifiedModel:
    """A model file whose signature, digest and types checked out, with its bytes."""

    path: Path
    data: bytes
    model_sha256: str
    key_id: str
    algorithm: str
    lineage: dict[str, Any] | None
    types: list[str]


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """Deterministic JSON bytes (sorted keys, UTF-8) so digests are reproducible."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def untrusted_types(data: bytes, allowed: Iterable[str]) -> list[str]:
    """Types in a skops payload that neither skops nor ``allowed`` trusts."""
    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises many types on malformed archives
        raise IntegrityError(f"not a readable skops file ({type(exc).__name__})") from None
    permitted = set(allowed)
    return sorted(name for name in found if name not in permitted)


def serialize_model(model: Any, allowed_types: Iterable[str] = DEFAULT_TRUSTED_TYPES) -> bytes:
    """skops bytes of ``model``; refuses to save what we would later refuse to load."""
    data: bytes = sio.dumps(model)
    refused = untrusted_types(data, allowed_types)
    if refused:
        raise IntegrityError(f"model contains types outside the allow-list: {', '.join(refused)}")
    return data


def _write(path: Path, data: bytes) -> None:
    with path.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def save_model(
    model: Any,
    directory: Path,
    *,
    lineage: Mapping[str, Any],
    signer: ModelSigner,
    allowed_types: Iterable[str] = DEFAULT_TRUSTED_TYPES,
) -> ModelBundle:
    """Write a signed bundle at ``directory`` atomically; ``lineage`` gains a ``model`` section."""
    if directory.exists():
        raise IntegrityError(f"{directory}: refusing to overwrite an existing model bundle")
    data = serialize_model(model, allowed_types)
    model_sha256 = crypto.sha256_hex(data)
    record = dict(lineage)
    record["model"] = {
        "file": MODEL_FILE,
        "format": "skops",
        "sha256": model_sha256,
        "bytes": len(data),
    }
    lineage_bytes = canonical_json(record)
    lineage_sha256 = crypto.sha256_hex(lineage_bytes)
    envelope = sign_model(signer, model_sha256, lineage_sha256)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.parent / f".{directory.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        _write(staging / MODEL_FILE, data)
        _write(staging / LINEAGE_FILE, lineage_bytes)
        _write(staging / SIGNATURE_FILE, envelope.to_json())
        staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ModelBundle(directory, model_sha256, lineage_sha256, envelope.key_id, record)


def _model_path(path: Path) -> Path:
    model_path = path / MODEL_FILE if path.is_dir() else path
    if not model_path.is_file():
        raise NotFoundError(f"{path}: no model file found")
    return model_path


def _signature_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".sig")


def verify_model(
    path: Path, trust: TrustStore, *, allowed_types: Iterable[str] = DEFAULT_TRUSTED_TYPES
) -> VerifiedModel:
    """Check signature, digests, lineage binding and types; raise ``IntegrityError`` if any fail."""
    model_path = _model_path(path)
    source = str(model_path)
    signature_path = _signature_path(model_path)
    if not signature_path.is_file():
        raise IntegrityError(f"{source}: unsigned model (no {signature_path.name}); refusing it")
    envelope = SignatureEnvelope.from_json(signature_path.read_bytes(), str(signature_path))
    data = model_path.read_bytes()
    model_sha256 = crypto.sha256_hex(data)
    if not crypto.constant_time_equal(model_sha256, envelope.model_sha256):
        raise IntegrityError(f"{source}: file digest does not match its signature (tampered)")
    trust.verify(envelope, source)
    lineage: dict[str, Any] | None = None
    lineage_path = model_path.with_name(LINEAGE_FILE)
    if lineage_path.is_file():
        lineage_bytes = lineage_path.read_bytes()
        if not crypto.constant_time_equal(
            crypto.sha256_hex(lineage_bytes), envelope.lineage_sha256
        ):
            raise IntegrityError(f"{lineage_path}: lineage record does not match the signature")
        lineage = json.loads(lineage_bytes)
        recorded = str((lineage or {}).get("model", {}).get("sha256", ""))
        if not crypto.constant_time_equal(recorded, model_sha256):
            raise IntegrityError(f"{lineage_path}: lineage names a different model digest")
    refused = untrusted_types(data, allowed_types)
    if refused:
        raise IntegrityError(
            f"{source}: contains types outside the allow-list: {', '.join(refused)}"
        )
    types = sorted(set(sio.get_untrusted_types(data=data)))
    return VerifiedModel(
        model_path, data, model_sha256, envelope.key_id, envelope.algorithm, lineage, types
    )


def load_model(
    path: Path, trust: TrustStore, *, allowed_types: Iterable[str] = DEFAULT_TRUSTED_TYPES
) -> Any:
    """Verify, then deserialize exactly the verified bytes with only the allowed extra types."""
    verified = verify_model(path, trust, allowed_types=allowed_types)
    return sio.loads(verified.data, trusted=verified.types)

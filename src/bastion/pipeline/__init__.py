"""The hardened training pipeline: dataset specs, minimized loading, signed models, lineage.

Public API::

    from bastion.pipeline import load_spec, load, train, verify_model, load_model, scan_file

    spec = load_spec("patients.spec.yaml")
    result = train(spec, "bob", training_context_from_settings(settings))
    model = load_model(result.bundle.directory, trust_store_from_settings(settings))

See ``docs/pipeline.md``.
"""

from bastion.pipeline.demo import DemoFiles, generate_rows, patients_csv, write_demo
from bastion.pipeline.estimators import ALLOWED_ESTIMATORS, build_estimator
from bastion.pipeline.lineage import LINEAGE_SCHEMA, read_record
from bastion.pipeline.loading import MinimizedData, dataset_fingerprint, load, read_minimized
from bastion.pipeline.scan import Finding, ScanReport, scan_bytes, scan_file
from bastion.pipeline.signing import (
    Ed25519Signer,
    SignatureEnvelope,
    TransitSigner,
    TrustStore,
)
from bastion.pipeline.spec import ColumnSpec, DatasetSpec, PurposeSpec, TrainingSpec, load_spec
from bastion.pipeline.store import (
    DEFAULT_TRUSTED_TYPES,
    ModelBundle,
    VerifiedModel,
    load_model,
    save_model,
    verify_model,
)
from bastion.pipeline.training import TrainingContext, TrainingResult, feature_matrix, train
from bastion.pipeline.transforms import TransformSpec
from bastion.pipeline.wiring import (
    signer_from_settings,
    training_context_from_settings,
    trust_store_from_settings,
)

__all__ = [
    "ALLOWED_ESTIMATORS",
    "DEFAULT_TRUSTED_TYPES",
    "LINEAGE_SCHEMA",
    "ColumnSpec",
    "DatasetSpec",
    "DemoFiles",
    "Ed25519Signer",
    "Finding",
    "MinimizedData",
    "ModelBundle",
    "PurposeSpec",
    "ScanReport",
    "SignatureEnvelope",
    "TrainingContext",
    "TrainingResult",
    "TrainingSpec",
    "TransformSpec",
    "TransitSigner",
    "TrustStore",
    "VerifiedModel",
    "build_estimator",
    "dataset_fingerprint",
    "feature_matrix",
    "generate_rows",
    "load",
    "load_model",
    "load_spec",
    "patients_csv",
    "read_minimized",
    "read_record",
    "save_model",
    "scan_bytes",
    "scan_file",
    "signer_from_settings",
    "train",
    "training_context_from_settings",
    "trust_store_from_settings",
    "verify_model",
    "write_demo",
]

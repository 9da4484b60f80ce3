"""Training runs: authorize, load minimized data, fit, evaluate, sign, record lineage, audit.

Either a run completes (signed model bundle, lineage record, audit event) or it
leaves nothing behind: artifacts are staged and renamed, and removed again if a
later step (such as the audit append) fails.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from bastion.core.audit_sink import AuditSink
from bastion.core.errors import AccessDeniedError, BastionError, ValidationError
from bastion.core.identity import Principal
from bastion.core.timeutil import utcnow
from bastion.pipeline.estimators import build_estimator, is_classification
from bastion.pipeline.lineage import build_record, code_version, new_run_id, write_atomic
from bastion.pipeline.loading import Authorizer, MinimizedData, load
from bastion.pipeline.signing import ModelSigner
from bastion.pipeline.spec import DatasetSpec, TrainingSpec
from bastion.pipeline.store import DEFAULT_TRUSTED_TYPES, ModelBundle, canonical_json, save_model

TRAIN_ACTION = "model:train"


@dataclass
class TrainingContext:
    """Everything a run needs from the other rooms, injected so tests can substitute."""

    authorizer: Authorizer
    audit: AuditSink
    pseudonymization_key: Callable[[], bytes]
    signer: Callable[[], ModelSigner]
    models_dir: Path
    lineage_dir: Path
    allowed_types: Iterable[str] = field(default_factory=lambda: DEFAULT_TRUSTED_TYPES)


@dataclass(frozen=True)
class TrainingResult:
    """What a successful run produced."""

    run_id: str
    bundle: ModelBundle
    lineage_path: Path
    metrics: dict[str, Any]

    @property
    def lineage(self) -> dict[str, Any]:
        return self.bundle.lineage


def feature_matrix(data: MinimizedData, label: str) -> tuple[pd.DataFrame, pd.Series]:
    """Split the minimized frame into features and label; dates become numeric years."""
    frame = data.frame.copy()
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            frame[name] = frame[name].dt.year.astype("float64")
        elif pd.api.types.is_bool_dtype(frame[name]):
            frame[name] = frame[name].astype("string")
    target = frame.pop(label)
    return frame, target


def build_pipeline(features: pd.DataFrame, estimator: Any) -> Pipeline:
    """One-hot categorical columns, scale numeric ones, then the estimator."""
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    categorical = [c for c in features.columns if c not in numeric]
    steps: list[tuple[str, Any, list[str]]] = []
    if categorical:
        encoder = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("onehot", OneHotEncoder(handle_unknown="ignore")),
            ]
        )
        steps.append(("categorical", encoder, categorical))
    if numeric:
        scaler = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
        steps.append(("numeric", scaler, numeric))
    if not steps:
        raise ValidationError("the purpose allows no feature columns besides the label")
    prepare = ColumnTransformer(steps, sparse_threshold=0.0)
    return Pipeline([("prepare", prepare), ("estimator", estimator)])


def _categorical_as_object(features: pd.DataFrame) -> pd.DataFrame:
    out = features.copy()
    for name in out.columns:
        if not pd.api.types.is_numeric_dtype(out[name]):
            out[name] = out[name].astype(object).where(out[name].notna(), np.nan)
    return out


def _metrics(
    classification: bool, truth: Any, predicted: Any, train_y: pd.Series
) -> dict[str, Any]:
    if classification:
        majority = train_y.value_counts().idxmax()
        return {
            "accuracy": float(accuracy_score(truth, predicted)),
            "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
            "f1_macro": float(f1_score(truth, predicted, average="macro")),
            "majority_class_accuracy": float(np.mean(np.asarray(truth) == majority)),
            "classes": int(pd.Series(truth).nunique()),
        }
    return {
        "r2": float(r2_score(truth, predicted)),
        "mae": float(mean_absolute_error(truth, predicted)),
    }


def _fit(spec: TrainingSpec, data: MinimizedData, label: str) -> tuple[Pipeline, dict[str, Any]]:
    features, target = feature_matrix(data, label)
    estimator = build_estimator(spec.estimator, spec.params)
    classification = is_classification(estimator)
    if target.isna().any():
        raise ValidationError(f"label column {label!r} has empty values", field=label)
    if classification:
        target = target.astype(str)
        counts = target.value_counts()
        if len(counts) < 2:
            raise ValidationError(f"label {label!r} needs at least two classes", field=label)
        stratify = target if counts.min() >= 2 else None
    else:
        stratify = None
    if len(target) < 4:
        raise ValidationError(f"too few rows to train and evaluate ({len(target)})")
    features = _categorical_as_object(features)
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=spec.test_size, random_state=spec.seed, stratify=stratify
    )
    pipeline = build_pipeline(features, estimator)
    try:
        pipeline.fit(x_train, y_train)
        predicted = pipeline.predict(x_test)
    except (ValueError, TypeError) as exc:
        # scikit-learn messages can quote cell values; report the kind of failure only.
        raise ValidationError(
            f"training failed ({type(exc).__name__}); check the purpose's columns and dtypes"
        ) from None
    split = {
        "test_size": spec.test_size,
        "seed": spec.seed,
        "stratified": stratify is not None,
        "train_rows": len(y_train),
        "test_rows": len(y_test),
    }
    return pipeline, {
        "split": split,
        "metrics": _metrics(classification, y_test, predicted, y_train),
    }


def train(
    spec: DatasetSpec,
    principal: Principal | str,
    context: TrainingContext,
    *,
    purpose: str | None = None,
) -> TrainingResult:
    """Run one training: every failure raises and leaves no model or lineage behind."""
    principal_id = str(principal)
    if spec.training is None or spec.label is None:
        raise ValidationError(
            "spec has no 'training' section", file=str(spec.spec_file), field="training"
        )
    training = spec.training
    chosen = purpose or training.purpose
    if spec.label not in spec.purpose(chosen).transforms:
        raise ValidationError(
            f"purpose {chosen!r} does not allow the label column {spec.label!r}",
            file=str(spec.spec_file),
            field=f"purposes.{chosen}.columns",
        )
    resource = f"model:{training.model_name}"
    context.authorizer.require(principal, TRAIN_ACTION, resource)
    run_id = new_run_id()
    started = utcnow()
    bundle: ModelBundle | None = None
    lineage_path = context.lineage_dir / f"{run_id}.json"
    try:
        data = load(
            spec,
            chosen,
            principal,
            authorizer=context.authorizer,
            pseudonymization_key=context.pseudonymization_key,
        )
        pipeline, outcome = _fit(training, data, spec.label)
        estimator = pipeline.named_steps["estimator"]
        record = build_record(
            run_id=run_id,
            principal=principal_id,
            started_at=started,
            finished_at=utcnow(),
            dataset={
                "name": spec.name,
                "purpose": chosen,
                "spec_file": spec.spec_file.name,
                "spec_sha256": spec.spec_sha256,
                "format": spec.source_format,
                "source_sha256": data.source_sha256,
                "fingerprint": data.fingerprint,
                "columns": data.columns,
                "transforms": data.transforms,
                "label": spec.label,
                "row_count": data.row_count,
            },
            estimator={
                "class": training.estimator,
                "params": training.params,
                "effective_params": estimator.get_params(deep=False),
            },
            split=outcome["split"],
            metrics=outcome["metrics"],
            code=code_version(spec.spec_file.parent),
        )
        bundle = save_model(
            pipeline,
            context.models_dir / training.model_name / run_id,
            lineage=record,
            signer=context.signer(),
            allowed_types=context.allowed_types,
        )
        write_atomic(lineage_path, canonical_json(bundle.lineage))
        context.audit.append(
            principal=principal_id,
            action=TRAIN_ACTION,
            resource=resource,
            outcome="success",
            details={
                "run_id": run_id,
                "purpose": chosen,
                "dataset": spec.name,
                "dataset_fingerprint": data.fingerprint,
                "row_count": data.row_count,
                "columns": data.columns,
                "lineage_record": str(lineage_path),
                "lineage_sha256": bundle.lineage_sha256,
                "model_sha256": bundle.model_sha256,
                "signer_key_id": bundle.key_id,
                "metrics": bundle.lineage["metrics"],
            },
        )
    except BaseException as exc:
        if bundle is not None:
            shutil.rmtree(bundle.directory, ignore_errors=True)
        lineage_path.unlink(missing_ok=True)
        if not isinstance(exc, AccessDeniedError | KeyboardInterrupt):
            _audit_failure(context.audit, principal_id, resource, run_id, chosen, exc)
        raise
    return TrainingResult(run_id, bundle, lineage_path, dict(bundle.lineage["metrics"]))


def _audit_failure(
    audit: AuditSink, principal: str, resource: str, run_id: str, purpose: str, exc: BaseException
) -> None:
    """Record a failed run; only Bastion's own messages (value-free by design) are kept."""
    with contextlib.suppress(Exception):  # the original error is what the caller must see
        audit.append(
            principal=principal,
            action=TRAIN_ACTION,
            resource=resource,
            outcome="failure",
            details={
                "run_id": run_id,
                "purpose": purpose,
                "error": type(exc).__name__,
                "message": str(exc) if isinstance(exc, BastionError) else None,
            },
        )

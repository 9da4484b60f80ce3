"""The allow-list of scikit-learn estimators a spec may name, and their construction.

A spec names a class by dotted path; importing arbitrary dotted paths from a
data file would be code execution by configuration, so only these are accepted.
"""

from __future__ import annotations

import importlib
from typing import Any

from sklearn.base import BaseEstimator, is_classifier

ALLOWED_ESTIMATORS: frozenset[str] = frozenset(
    {
        "sklearn.linear_model.LogisticRegression",
        "sklearn.linear_model.RidgeClassifier",
        "sklearn.linear_model.SGDClassifier",
        "sklearn.linear_model.LinearRegression",
        "sklearn.linear_model.Ridge",
        "sklearn.linear_model.Lasso",
        "sklearn.tree.DecisionTreeClassifier",
        "sklearn.tree.DecisionTreeRegressor",
        "sklearn.ensemble.RandomForestClassifier",
        "sklearn.ensemble.RandomForestRegressor",
        "sklearn.ensemble.GradientBoostingClassifier",
        "sklearn.ensemble.GradientBoostingRegressor",
        "sklearn.ensemble.HistGradientBoostingClassifier",
        "sklearn.ensemble.HistGradientBoostingRegressor",
        "sklearn.naive_bayes.GaussianNB",
        "sklearn.neighbors.KNeighborsClassifier",
    }
)

# Parameter values come from YAML; only plain scalars (and lists of them) are accepted.
_SCALARS = (str, int, float, bool, type(None))


class EstimatorSpecError(ValueError):
    """Raised with a message and the offending parameter (``None`` for the class itself)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def build_estimator(dotted: str, params: dict[str, Any]) -> BaseEstimator:
    """Instantiate an allow-listed estimator with validated parameters."""
    if dotted not in ALLOWED_ESTIMATORS:
        allowed = ", ".join(sorted(name.rsplit(".", 1)[1] for name in ALLOWED_ESTIMATORS))
        raise EstimatorSpecError(f"estimator {dotted!r} is not on the allow-list ({allowed})")
    module_name, class_name = dotted.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_name), class_name)
    estimator: BaseEstimator = cls()
    known = estimator.get_params(deep=False)
    for name, value in params.items():
        if name not in known:
            raise EstimatorSpecError(f"{class_name} has no parameter {name!r}", param=name)
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, _SCALARS) for item in items):
            raise EstimatorSpecError("parameters must be scalars or lists of scalars", name)
    estimator.set_params(**params)
    validate = getattr(estimator, "_validate_params", None)
    if callable(validate):
        try:
            validate()
        except (ValueError, TypeError) as exc:
            # sklearn names the parameter in its message; keep that, drop the class prefix.
            bad = next((name for name in params if f"'{name}'" in str(exc)), None)
            raise EstimatorSpecError(str(exc).split("\n")[0], param=bad) from exc
    return estimator


def is_classification(estimator: BaseEstimator) -> bool:
    """True for classifiers (metrics: accuracy, F1); False for regressors (R², MAE)."""
    return bool(is_classifier(estimator))

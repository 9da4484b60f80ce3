"""Per-column policies for tables, and the transformer that applies one.

```yaml
default: drop                  # columns not listed: drop (deny by default) or keep
columns:
  patient_id: {action: pseudonymize, length: 12}
  name: drop
  ssn: {action: mask, keep_last: 4}
  age: {action: age_band, width: 5}
  zip: zip3
  admitted: year
  notes: text                  # span-level, with text_policy
  diagnosis: keep
text_policy:                   # an operator policy (see bastion.privacy.transform)
  default: replace
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sklearn.base import BaseEstimator, TransformerMixin

from bastion.core.errors import ValidationError
from bastion.privacy.tabular.transformers import (
    AgeBander,
    AgeTopCoder,
    ColumnsTransformer,
    DateGeneralizer,
    HidesKey,
    HmacPseudonymizer,
    Masker,
    TextDeidentifier,
    ZipTruncator,
    as_frame,
)
from bastion.privacy.transform.analyzer import Analyzer
from bastion.privacy.transform.generalize import SAFE_HARBOR_AGE_LIMIT
from bastion.privacy.transform.policy import OperatorPolicy
from bastion.privacy.transform.yaml_source import line_of, parse_yaml, read_yaml

ACTIONS = ("keep", "drop", "pseudonymize", "mask", "age_band", "top_code", "zip3", "year", "text")


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Keep(_Action):
    action: Literal["keep"] = "keep"


class Drop(_Action):
    action: Literal["drop"] = "drop"


class PseudonymizeColumn(_Action):
    action: Literal["pseudonymize"] = "pseudonymize"
    length: int = Field(default=16, ge=8, le=64)
    prefix: str = ""
    entity_type: str = ""


class MaskColumn(_Action):
    action: Literal["mask"] = "mask"
    keep_last: int = Field(default=4, ge=0, le=64)
    masking_char: str = Field(default="*", min_length=1, max_length=1)
    keep_separators: bool = False


class AgeBandColumn(_Action):
    action: Literal["age_band"] = "age_band"
    width: int = Field(default=10, ge=1, le=50)
    limit: int = Field(default=SAFE_HARBOR_AGE_LIMIT, ge=1, le=150)


class TopCodeColumn(_Action):
    action: Literal["top_code"] = "top_code"
    limit: int = Field(default=SAFE_HARBOR_AGE_LIMIT, ge=1, le=150)


class Zip3Column(_Action):
    action: Literal["zip3"] = "zip3"


class YearColumn(_Action):
    action: Literal["year"] = "year"


class TextColumn(_Action):
    action: Literal["text"] = "text"


ColumnAction = Annotated[
    Keep
    | Drop
    | PseudonymizeColumn
    | MaskColumn
    | AgeBandColumn
    | TopCodeColumn
    | Zip3Column
    | YearColumn
    | TextColumn,
    Field(discriminator="action"),
]


def _shorthand(value: Any) -> Any:
    return {"action": value} if isinstance(value, str) else value


class TablePolicy(BaseModel):
    """What happens to each column; unlisted columns follow ``default``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Literal["drop", "keep"] = "drop"
    columns: dict[str, ColumnAction] = Field(default_factory=dict)
    text_policy: OperatorPolicy = Field(default_factory=OperatorPolicy)
    person_column: str | None = None

    @field_validator("columns", mode="before")
    @classmethod
    def _columns_shorthand(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(name): _shorthand(action) for name, action in value.items()}
        return value

    def action_for(self, column: str) -> ColumnAction:
        """The action configured for ``column`` (the default if unlisted)."""
        found = self.columns.get(column)
        if found is not None:
            return found
        return Drop() if self.default == "drop" else Keep()

    @property
    def needs_key(self) -> bool:
        """True when a column is pseudonymized or text uses keyed operators."""
        uses_text = any(a.action == "text" for a in self.columns.values())
        return any(a.action == "pseudonymize" for a in self.columns.values()) or (
            uses_text and self.text_policy.needs_key
        )


def table_policy_from_mapping(
    data: Any, *, source: str = "<table policy>", text: str = ""
) -> TablePolicy:
    """Validate parsed table-policy data; errors name source, line and field."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValidationError("a table policy must be a mapping with 'columns'", file=source)
    try:
        return TablePolicy.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        loc: list[str | int] = [p for p in first["loc"] if isinstance(p, str | int)]
        loc = [
            p for i, p in enumerate(loc) if not (i == 2 and loc[0] == "columns" and p in ACTIONS)
        ]
        message = first["msg"].removeprefix("Value error, ")
        named = re.match(r"entity '([^']+)': (.*)", message)
        if named and loc == ["text_policy"]:
            name, message = named.group(1), named.group(2)
            loc += ["default"] if name == "default" else ["entities", name]
        if first["type"] == "union_tag_invalid":
            message = f"unknown action; choose one of {', '.join(ACTIONS)}"
            loc.append("action")
        elif first["type"] == "extra_forbidden":
            message = "unknown field"
        line = line_of(text, loc) if text else None
        raise ValidationError(
            message, file=source, line=line, field=".".join(map(str, loc)) or None
        ) from None


def load_table_policy(path: str | Path) -> TablePolicy:
    """Load and validate a table-policy YAML file."""
    file = Path(path)
    data, text = read_yaml(file)
    return table_policy_from_mapping(data, source=str(file), text=text)


def parse_table_policy(text: str, *, source: str = "<table policy>") -> TablePolicy:
    """Validate a table policy given as YAML text."""
    return table_policy_from_mapping(parse_yaml(text, source), source=source, text=text)


class TablePolicyTransformer(HidesKey, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Apply a :class:`TablePolicy` to a DataFrame; usable as a ``Pipeline`` step."""

    def __init__(
        self,
        policy: TablePolicy | None = None,
        key: bytes | None = None,
        engine: Analyzer | None = None,
    ) -> None:
        self.policy = policy
        self.key = key
        self.engine = engine

    def _policy(self) -> TablePolicy:
        return self.policy if self.policy is not None else TablePolicy()

    def fit(self, X: Any, y: Any = None) -> TablePolicyTransformer:  # noqa: N803
        frame = as_frame(X)
        policy = self._policy()
        for name in policy.columns:
            if name not in frame.columns:
                raise ValidationError(
                    f"column {name!r} named by the policy is not in the table", field=name
                )
        if policy.person_column is not None and policy.person_column not in frame.columns:
            raise ValidationError("person column is not in the table", field=policy.person_column)
        self.feature_names_in_ = [str(c) for c in frame.columns]
        self.n_features_in_ = frame.shape[1]
        self.feature_names_out_ = [
            name for name in self.feature_names_in_ if policy.action_for(name).action != "drop"
        ]
        return self

    def transform(self, X: Any) -> pd.DataFrame:  # noqa: N803
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "feature_names_in_")
        frame = as_frame(X, self.feature_names_in_)
        policy = self._policy()
        steps = self._steps(policy)
        text_columns = [n for n in self.feature_names_in_ if policy.action_for(n).action == "text"]
        result = frame.copy()
        if text_columns:
            text_step = TextDeidentifier(
                columns=text_columns,
                policy=policy.text_policy,
                key=self.key,
                engine=self.engine,
                person_column=policy.person_column,
            )
            result = text_step.fit(frame).transform(frame)
        for step in steps:
            result = step.fit(result).transform(result)
        return result[self.feature_names_out_]

    def _steps(self, policy: TablePolicy) -> list[ColumnsTransformer]:
        steps: list[ColumnsTransformer] = []
        for name in self.feature_names_in_:
            action = policy.action_for(name)
            if isinstance(action, PseudonymizeColumn):
                steps.append(
                    HmacPseudonymizer(
                        key=self.key,
                        columns=[name],
                        length=action.length,
                        prefix=action.prefix,
                        entity_type=action.entity_type,
                    )
                )
            elif isinstance(action, MaskColumn):
                steps.append(
                    Masker([name], action.keep_last, action.masking_char, action.keep_separators)
                )
            elif isinstance(action, AgeBandColumn):
                steps.append(AgeBander([name], action.width, action.limit))
            elif isinstance(action, TopCodeColumn):
                steps.append(AgeTopCoder([name], action.limit))
            elif isinstance(action, Zip3Column):
                steps.append(ZipTruncator([name]))
            elif isinstance(action, YearColumn):
                steps.append(DateGeneralizer([name]))
        return steps

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        """The columns that survive the policy, in input order."""
        import numpy as np
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "feature_names_in_")
        return np.asarray(self.feature_names_out_, dtype=object)


def apply_table_policy(
    frame: pd.DataFrame,
    policy: TablePolicy,
    *,
    key: bytes | None = None,
    engine: Analyzer | None = None,
) -> pd.DataFrame:
    """Function form of :class:`TablePolicyTransformer`."""
    return TablePolicyTransformer(policy, key=key, engine=engine).fit_transform(frame)  # type: ignore[no-any-return]

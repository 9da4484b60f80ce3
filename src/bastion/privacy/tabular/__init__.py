"""Tables: column classification, per-column policies and scikit-learn transformers.

Every transformer takes explicit keys (``bytes``); fetch them from
``bastion.secrets`` where the pipeline starts.
"""

from bastion.privacy.tabular.classify import (
    ColumnKind,
    ColumnReport,
    classify_column,
    classify_columns,
    kind_from_name,
    suggest_table_policy,
)
from bastion.privacy.tabular.policy import (
    TablePolicy,
    TablePolicyTransformer,
    apply_table_policy,
    load_table_policy,
    parse_table_policy,
    table_policy_from_mapping,
)
from bastion.privacy.tabular.transformers import (
    AgeBander,
    AgeTopCoder,
    DateGeneralizer,
    DropColumns,
    HmacPseudonymizer,
    Masker,
    RedactedKey,
    TextDeidentifier,
    ZipTruncator,
)

__all__ = [
    "AgeBander",
    "AgeTopCoder",
    "ColumnKind",
    "ColumnReport",
    "DateGeneralizer",
    "DropColumns",
    "HmacPseudonymizer",
    "Masker",
    "RedactedKey",
    "TablePolicy",
    "TablePolicyTransformer",
    "TextDeidentifier",
    "ZipTruncator",
    "apply_table_policy",
    "classify_column",
    "classify_columns",
    "kind_from_name",
    "load_table_policy",
    "parse_table_policy",
    "suggest_table_policy",
    "table_policy_from_mapping",
]

"""Operators that de-identify detected values, and the policy that chooses them.

>>> from bastion.privacy.transform import anonymize, parse_policy
>>> result = anonymize(text, spans, parse_policy("default: replace"), key=key)

Keys are explicit ``bytes`` (32+); fetch them from ``bastion.secrets`` at the edge.
"""

from bastion.privacy.transform.analyzer import Analyzer, default_analyzer, deidentify_text
from bastion.privacy.transform.anonymize import (
    AnonymizedText,
    Replacement,
    anonymize,
    check_spans,
    deanonymize,
)
from bastion.privacy.transform.context import DocumentContext
from bastion.privacy.transform.dates import ParsedDate, parse_date
from bastion.privacy.transform.generalize import (
    RESTRICTED_ZIP3,
    age_band,
    top_code_age,
    year_only,
    zip3,
)
from bastion.privacy.transform.keys import TransformKeys
from bastion.privacy.transform.normalize import normalize
from bastion.privacy.transform.operators import (
    OPERATOR_NAMES,
    DateShift,
    Encrypt,
    Generalize,
    Mask,
    OperatorConfig,
    Pseudonymize,
    Redact,
    Replace,
    Surrogate,
    mask_value,
    pseudonym_digest,
)
from bastion.privacy.transform.policy import (
    KNOWN_ENTITIES,
    OperatorPolicy,
    load_policy,
    parse_policy,
    policy_from_mapping,
)

__all__ = [
    "KNOWN_ENTITIES",
    "OPERATOR_NAMES",
    "RESTRICTED_ZIP3",
    "Analyzer",
    "AnonymizedText",
    "DateShift",
    "DocumentContext",
    "Encrypt",
    "Generalize",
    "Mask",
    "OperatorConfig",
    "OperatorPolicy",
    "ParsedDate",
    "Pseudonymize",
    "Redact",
    "Replace",
    "Replacement",
    "Surrogate",
    "TransformKeys",
    "age_band",
    "anonymize",
    "check_spans",
    "deanonymize",
    "default_analyzer",
    "deidentify_text",
    "load_policy",
    "mask_value",
    "normalize",
    "parse_date",
    "parse_policy",
    "policy_from_mapping",
    "pseudonym_digest",
    "top_code_age",
    "year_only",
    "zip3",
]

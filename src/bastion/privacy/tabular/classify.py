"""Classify DataFrame columns by name and by what the detection engine finds in samples.

Kinds, most protective first: direct identifier, free text, quasi-identifier,
sensitive, feature.  Reports carry counts and reasons, never sampled values.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd

from bastion.privacy.tabular.policy import (
    AgeBandColumn,
    ColumnAction,
    Drop,
    Keep,
    PseudonymizeColumn,
    TablePolicy,
    TextColumn,
    YearColumn,
    Zip3Column,
)
from bastion.privacy.transform.analyzer import Analyzer, default_analyzer


class ColumnKind(StrEnum):
    """How a column bears on re-identification."""

    DIRECT_IDENTIFIER = "direct_identifier"
    FREE_TEXT = "free_text"
    QUASI_IDENTIFIER = "quasi_identifier"
    SENSITIVE = "sensitive"
    FEATURE = "feature"


_RANK = {kind: rank for rank, kind in enumerate(ColumnKind)}

_DIRECT_WORDS = frozenset(
    [
        "name",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "givenname",
        "email",
        "mail",
        "phone",
        "mobile",
        "cell",
        "fax",
        "telephone",
        "ssn",
        "social",
        "mrn",
        "passport",
        "license",
        "licence",
        "address",
        "street",
        "ip",
        "mac",
        "url",
        "website",
        "account",
        "iban",
        "card",
        "creditcard",
        "username",
        "login",
        "member",
        "policy",
        "device",
        "serial",
        "vin",
        "plate",
        "insurance",
        "npi",
    ]
)
_ID_OWNERS = frozenset(
    ["patient", "person", "customer", "user", "member", "employee", "subscriber", "client"]
)
_QUASI_WORDS = frozenset(
    [
        "zip",
        "zipcode",
        "postal",
        "postcode",
        "dob",
        "birth",
        "birthdate",
        "birthday",
        "age",
        "gender",
        "sex",
        "race",
        "ethnicity",
        "city",
        "state",
        "county",
        "country",
        "date",
        "admitted",
        "admission",
        "discharge",
        "discharged",
        "visit",
        "marital",
        "occupation",
        "language",
        "nationality",
    ]
)
_SENSITIVE_WORDS = frozenset(
    [
        "diagnosis",
        "dx",
        "icd",
        "condition",
        "disease",
        "medication",
        "drug",
        "prescription",
        "procedure",
        "cpt",
        "hiv",
        "religion",
        "income",
        "salary",
        "sexual",
        "orientation",
        "genetic",
        "lab",
        "result",
        "outcome",
    ]
)
_TEXT_WORDS = frozenset(
    [
        "note",
        "notes",
        "comment",
        "comments",
        "text",
        "description",
        "narrative",
        "summary",
        "message",
        "body",
        "remarks",
        "history",
        "transcript",
    ]
)
DIRECT_ENTITIES = frozenset(
    {
        "PERSON",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "FAX_NUMBER",
        "US_SSN",
        "US_ITIN",
        "US_DRIVER_LICENSE",
        "US_PASSPORT",
        "CREDIT_CARD",
        "IBAN_CODE",
        "IP_ADDRESS",
        "MAC_ADDRESS",
        "URL",
        "STREET_ADDRESS",
        "MEDICAL_RECORD_NUMBER",
        "HEALTH_PLAN_ID",
        "ACCOUNT_NUMBER",
        "LICENSE_NUMBER",
        "DEVICE_ID",
        "VEHICLE_ID",
        "LICENSE_PLATE",
    }
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class ColumnReport:
    """The classification of one column and why; no sampled values."""

    name: str
    kind: ColumnKind
    reasons: tuple[str, ...]
    entity_counts: dict[str, int] = field(default_factory=dict)
    sampled: int = 0


def name_words(name: str) -> list[str]:
    """Lower-case words of a column name (``patientEmail`` → ``patient``, ``email``)."""
    return [w for w in re.split(r"[^a-z0-9]+", _CAMEL.sub("_", str(name)).lower()) if w]


def kind_from_name(name: str) -> tuple[ColumnKind, str] | None:
    """The kind a column's name suggests, with the word that suggested it."""
    words = name_words(name)
    joined = "".join(words)
    for word in [*words, joined]:
        if word in _DIRECT_WORDS:
            return ColumnKind.DIRECT_IDENTIFIER, word
    if "id" in words and (set(words) & _ID_OWNERS or len(words) == 1):
        return ColumnKind.DIRECT_IDENTIFIER, "id"
    for word in words:
        if word in _TEXT_WORDS:
            return ColumnKind.FREE_TEXT, word
    for word in [*words, joined]:
        if word in _QUASI_WORDS:
            return ColumnKind.QUASI_IDENTIFIER, word
    for word in words:
        if word in _SENSITIVE_WORDS:
            return ColumnKind.SENSITIVE, word
    return None


def classify_column(
    series: pd.Series, engine: Analyzer, *, sample_size: int = 50, seed: int = 0
) -> ColumnReport:
    """Classify one column from its name and a deterministic sample of its values."""
    name = str(series.name)
    reasons: list[str] = []
    kind = ColumnKind.FEATURE
    by_name = kind_from_name(name)
    if by_name is not None:
        kind = by_name[0]
        reasons.append(f"name contains '{by_name[1]}'")
    values = series.dropna()
    if len(values) > sample_size:
        values = values.sample(n=sample_size, random_state=seed)
    texts = [str(v) for v in values.tolist() if str(v).strip()]
    counts: Counter[str] = Counter()
    whole_direct = whole_quasi = 0
    for text in texts:
        spans = engine.analyze(text)
        counts.update(span.entity_type for span in spans)
        covered = sum(span.length for span in spans)
        if spans and covered >= 0.6 * len(text.strip()):
            if any(span.entity_type in DIRECT_ENTITIES for span in spans):
                whole_direct += 1
            else:
                whole_quasi += 1
    if texts:
        words = sum(len(t.split()) for t in texts) / len(texts)
        if words >= 6:
            kind = _stricter(kind, ColumnKind.FREE_TEXT)
            reasons.append(f"values average {words:.0f} words")
        elif whole_direct >= 0.5 * len(texts):
            kind = _stricter(kind, ColumnKind.DIRECT_IDENTIFIER)
            reasons.append(f"{whole_direct}/{len(texts)} sampled values are identifiers")
        elif whole_direct + whole_quasi >= 0.5 * len(texts):
            kind = _stricter(kind, ColumnKind.QUASI_IDENTIFIER)
            reasons.append(
                f"{whole_direct + whole_quasi}/{len(texts)} values are quasi-identifiers"
            )
    if kind == ColumnKind.FREE_TEXT and by_name is not None and by_name[0] != ColumnKind.FREE_TEXT:
        reasons.append("free text: span-level treatment instead of dropping")
    return ColumnReport(name, kind, tuple(reasons), dict(sorted(counts.items())), len(texts))


def _stricter(current: ColumnKind, candidate: ColumnKind) -> ColumnKind:
    if candidate == ColumnKind.FREE_TEXT:
        return candidate
    return candidate if _RANK[candidate] < _RANK[current] else current


def classify_columns(
    frame: pd.DataFrame,
    engine: Analyzer | None = None,
    *,
    sample_size: int = 50,
    seed: int = 0,
) -> list[ColumnReport]:
    """One report per column, in column order."""
    analyzer = engine if engine is not None else default_analyzer()
    return [
        classify_column(frame[name], analyzer, sample_size=sample_size, seed=seed)
        for name in frame.columns
    ]


def suggest_table_policy(reports: list[ColumnReport]) -> TablePolicy:
    """A conservative policy: ids pseudonymized, other identifiers dropped, QIs generalized."""
    columns: dict[str, ColumnAction] = {}
    for report in reports:
        words = set(name_words(report.name))
        if report.kind == ColumnKind.DIRECT_IDENTIFIER:
            is_key = "id" in words or "mrn" in words
            columns[report.name] = PseudonymizeColumn() if is_key else Drop()
        elif report.kind == ColumnKind.FREE_TEXT:
            columns[report.name] = TextColumn()
        elif report.kind == ColumnKind.QUASI_IDENTIFIER:
            if "age" in words:
                columns[report.name] = AgeBandColumn()
            elif words & {"zip", "zipcode", "postal", "postcode"}:
                columns[report.name] = Zip3Column()
            elif words & {
                "date",
                "dob",
                "birth",
                "birthdate",
                "admitted",
                "discharged",
                "visit",
            } or report.entity_counts.keys() & {"DATE_TIME", "DATE_OF_BIRTH"}:
                columns[report.name] = YearColumn()
            else:
                columns[report.name] = Keep()
        else:
            columns[report.name] = Keep()
    return TablePolicy(default="drop", columns=columns)

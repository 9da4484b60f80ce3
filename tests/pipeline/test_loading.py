"""Minimized loading: access first, only allowed columns parsed, one-line errors, fingerprints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bastion.core.errors import AccessDeniedError, ValidationError
from bastion.pipeline import dataset_fingerprint, load, load_spec

SPEC = """\
version: 1
name: test/people
source: {{path: {data}}}
columns:
  person:  {{class: direct_identifier, dtype: string}}
  age:     {{class: quasi_identifier, dtype: integer}}
  score:   {{class: feature, dtype: float}}
  secret:  {{class: sensitive, dtype: integer}}
  outcome: {{class: label, dtype: category}}
label: outcome
purposes:
  training:
    columns: {{age: keep, score: keep, outcome: keep, person: drop}}
  audit:
    columns: {{age: keep, secret: keep}}
"""

KEY = b"k" * 32


class Recorder:
    """An authorizer double that records requests and denies listed actions."""

    def __init__(self, deny: set[str] | None = None) -> None:
        self.requests: list[tuple[str, str, str]] = []
        self.deny = deny or set()

    def require(self, principal: Any, action: str, resource: str) -> None:
        self.requests.append((str(principal), action, resource))
        if action in self.deny:
            raise AccessDeniedError(str(principal), action, resource, "test")


def _spec(tmp_path: Path, data: bytes, name: str = "people.csv") -> Any:
    (tmp_path / name).write_bytes(data)
    (tmp_path / "spec.yaml").write_text(SPEC.format(data=name), encoding="utf-8")
    return load_spec(tmp_path / "spec.yaml")


def _load(spec: Any, purpose: str = "training", auth: Recorder | None = None) -> Any:
    return load(
        spec, purpose, "bob", authorizer=auth or Recorder(), pseudonymization_key=lambda: KEY
    )


# The disallowed 'secret' column is not an integer and 'person' is not UTF-8, and an
# undeclared column holds garbage: a reader that parsed them would fail.
MALFORMED_ELSEWHERE = (
    b"person,age,score,secret,outcome,junk\n"
    b"\xff\xfeAnn,34,0.5,NOT-A-NUMBER,yes,\x00\x01\n"
    b"\xc3(Bo,51,1.5,??,no,{{{\n"
)


def test_columns_outside_the_purpose_are_never_parsed(tmp_path: Path) -> None:
    data = _load(_spec(tmp_path, MALFORMED_ELSEWHERE))
    assert list(data.frame.columns) == ["age", "score", "outcome"]
    assert data.frame["age"].tolist() == [34, 51]
    # The same file fails as soon as a purpose asks for the malformed column.
    with pytest.raises(ValidationError, match="'secret' holds a value that is not an integer"):
        _load(_spec(tmp_path, MALFORMED_ELSEWHERE), purpose="audit")


def test_access_is_checked_before_the_file_is_opened(tmp_path: Path) -> None:
    spec = _spec(tmp_path, MALFORMED_ELSEWHERE)
    (tmp_path / "people.csv").unlink()  # would be a ValidationError if read first
    auth = Recorder(deny={"dataset:read"})
    with pytest.raises(AccessDeniedError):
        _load(spec, auth=auth)
    assert auth.requests == [("bob", "dataset:read", "dataset:test/people")]


def test_missing_declared_column(tmp_path: Path) -> None:
    spec = _spec(tmp_path, b"person,age,score,outcome\nA,1,2.0,yes\n")
    with pytest.raises(ValidationError, match="missing from the data file: secret") as caught:
        _load(spec)
    assert caught.value.field == "secret"


def test_ragged_row_names_the_line_without_echoing_values(tmp_path: Path) -> None:
    body = b"person,age,score,secret,outcome\nAnn,1,2.0,3,yes\nBo,4,5.0,6,no\nSECRETNAME,7\n"
    with pytest.raises(ValidationError) as caught:
        _load(_spec(tmp_path, body))
    message = str(caught.value)
    assert caught.value.line == 4
    assert "ragged row" in message and "has 2 fields, expected 5" in message
    assert "SECRETNAME" not in message and "\n" not in message


def test_bad_value_in_allowed_column_is_named_without_value(tmp_path: Path) -> None:
    body = b"person,age,score,secret,outcome\nAnn,1,2.0,3,yes\nBo,CONFIDENTIAL,5.0,6,no\n"
    with pytest.raises(ValidationError) as caught:
        _load(_spec(tmp_path, body))
    assert caught.value.field == "age"
    assert "CONFIDENTIAL" not in str(caught.value)


def test_corrupt_parquet_is_one_line(tmp_path: Path) -> None:
    spec = _spec(tmp_path, b"PAR1 this is not really parquet PAR1", name="people.parquet")
    with pytest.raises(ValidationError, match="not a readable Parquet file") as caught:
        _load(spec)
    assert "\n" not in str(caught.value)


def test_parquet_reads_only_allowed_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "person": ["Ann", "Bo"],
            "age": [34, 51],
            "score": [0.5, 1.5],
            "secret": [1, 2],
            "outcome": ["yes", "no"],
        }
    )
    pq.write_table(table, tmp_path / "people.parquet")
    (tmp_path / "spec.yaml").write_text(SPEC.format(data="people.parquet"), encoding="utf-8")
    data = _load(load_spec(tmp_path / "spec.yaml"))
    assert list(data.frame.columns) == ["age", "score", "outcome"]
    assert data.row_count == 2


def test_fingerprint_binds_bytes_columns_and_rows(tmp_path: Path) -> None:
    body = b"person,age,score,secret,outcome\nAnn,1,2.0,3,yes\nBo,4,5.0,6,no\n"
    first = _load(_spec(tmp_path, body))
    again = _load(_spec(tmp_path, body))
    assert first.fingerprint == again.fingerprint
    assert first.fingerprint == dataset_fingerprint(
        first.source_sha256, ["age", "score", "outcome"], 2
    )
    import hashlib

    assert first.source_sha256 == hashlib.sha256(body).hexdigest()
    changed = _load(_spec(tmp_path, body.replace(b"Ann", b"Anne")))  # a column not even read
    assert changed.fingerprint != first.fingerprint
    assert dataset_fingerprint(first.source_sha256, ["age"], 2) != first.fingerprint
    assert dataset_fingerprint(first.source_sha256, ["age", "score", "outcome"], 3) != (
        first.fingerprint
    )

"""Minimized loading: check access, read only the columns a purpose allows, then transform.

Columns outside the purpose are excluded *at read time* (pyarrow's
``include_columns`` / Parquet column projection), so they are never converted
into values in this process.  Every byte of the source file is hashed on the
same handle that is parsed, which gives the dataset fingerprint.

Fingerprint (v1), documented in ``docs/pipeline.md``::

    sha256( "bastion.dataset-fingerprint.v1\\n"
            + source_sha256 + "\\n"              # hex SHA-256 of every byte of the file
            + json(columns read, in spec order) + "\\n"
            + decimal row count )
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bastion.core.errors import ValidationError
from bastion.core.identity import Principal
from bastion.pipeline.spec import DatasetSpec, PurposeSpec
from bastion.pipeline.transforms import build_transformers

FINGERPRINT_DOMAIN = b"bastion.dataset-fingerprint.v1\n"
_CHUNK = 1 << 22

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "text": pa.string(),
    "category": pa.string(),
    "integer": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}
_DTYPE_WORDS = {
    "string": "text",
    "text": "text",
    "category": "text",
    "integer": "an integer",
    "float": "a number",
    "boolean": "a boolean",
    "date": "a date (YYYY-MM-DD)",
}


class Authorizer(Protocol):
    """What loading and training need from ``bastion.access``."""

    def require(self, principal: Any, action: str, resource: str) -> Any:
        """Raise ``AccessDeniedError`` unless allowed (and audit the decision)."""
        ...


@dataclass(frozen=True)
class MinimizedData:
    """A purpose-minimized, transformed data set and the facts lineage needs about it."""

    dataset: str
    purpose: str
    frame: pd.DataFrame
    columns: list[str]
    transforms: dict[str, str]
    row_count: int
    source_sha256: str
    fingerprint: str


def dataset_fingerprint(source_sha256: str, columns: list[str], row_count: int) -> str:
    """The v1 dataset fingerprint (see module docstring)."""
    digest = hashlib.sha256(FINGERPRINT_DOMAIN)
    digest.update(source_sha256.encode("ascii") + b"\n")
    digest.update(json.dumps(columns, separators=(",", ":")).encode("utf-8") + b"\n")
    digest.update(str(row_count).encode("ascii"))
    return digest.hexdigest()


class _HashingReader(io.RawIOBase):
    """A read-only stream that hashes every byte handed to the parser."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        count = len(data)
        view[:count] = data
        self.digest.update(data)
        return count

    def drain(self) -> str:
        """Hash whatever the parser did not consume and return the hex digest."""
        while chunk := self._raw.read(_CHUNK):
            self.digest.update(chunk)
        return self.digest.hexdigest()


def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"header is not UTF-8 (byte {exc.start})", file=str(path), line=1
        ) from exc
    rows = list(csv.reader([text]))
    if not rows or not rows[0]:
        raise ValidationError("file is empty or has no header row", file=str(path), line=1)
    return [name.strip() for name in rows[0]]


def _check_declared(spec: DatasetSpec, present: list[str], path: Path) -> None:
    missing = [name for name in spec.columns if name not in present]
    if missing:
        raise ValidationError(
            f"declared column(s) missing from the data file: {', '.join(missing)}",
            file=str(path),
            field=missing[0],
        )


def _ragged_row_line(path: Path) -> tuple[int | None, int, int]:
    """Re-parse single-threaded to find the first ragged row (error path only)."""
    found: list[tuple[int | None, int, int]] = []

    def handler(row: Any) -> str:
        found.append((row.number, row.actual_columns, row.expected_columns))
        return "error"

    with contextlib.suppress(pa.ArrowInvalid):
        pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(include_columns=[]),
        )
    return found[0] if found else (None, 0, 0)


def _csv_error(
    exc: pa.ArrowException, path: Path, header: list[str], spec: DatasetSpec
) -> ValidationError:
    """Turn a pyarrow CSV error into a one-line message that never echoes cell values."""
    text = str(exc)
    conversion = re.search(r"In CSV column #(\d+): CSV conversion error to ([^:]+):", text)
    if conversion:
        index = int(conversion.group(1))
        column = header[index] if index < len(header) else f"#{index}"
        dtype = spec.columns[column].dtype if column in spec.columns else ""
        wanted = _DTYPE_WORDS.get(dtype, conversion.group(2))
        return ValidationError(
            f"column {column!r} holds a value that is not {wanted}", file=str(path), field=column
        )
    if "Expected" in text and "columns, got" in text:
        line, actual, expected = _ragged_row_line(path)
        detail = (
            f"has {actual} fields, expected {expected}"
            if expected
            else "has the wrong number of fields"
        )
        return ValidationError(f"ragged row: line {line} {detail}", file=str(path), line=line)
    kind = text.split(":", 1)[0][:80]
    return ValidationError(f"malformed CSV ({kind})", file=str(path))


def _read_csv(spec: DatasetSpec, columns: list[str]) -> tuple[pa.Table, str]:
    path = spec.source_path
    header = _csv_header(path)
    _check_declared(spec, header, path)
    types = {name: _ARROW_TYPES[spec.columns[name].dtype] for name in columns}
    convert = pacsv.ConvertOptions(
        include_columns=columns,
        column_types=types,
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    with path.open("rb") as raw:
        reader = _HashingReader(raw)
        try:
            table = pacsv.read_csv(
                io.BufferedReader(reader, buffer_size=_CHUNK),
                read_options=pacsv.ReadOptions(block_size=_CHUNK),
                convert_options=convert,
            )
        except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
            raise _csv_error(exc, path, header, spec) from None
        source_sha256 = reader.drain()
    return table, source_sha256


def _arrow_matches(dtype: str, arrow_type: pa.DataType) -> bool:
    if dtype in {"string", "text", "category"}:
        return bool(
            pa.types.is_string(arrow_type)
            or pa.types.is_large_string(arrow_type)
            or pa.types.is_dictionary(arrow_type)
        )
    if dtype == "integer":
        return bool(pa.types.is_integer(arrow_type))
    if dtype == "float":
        return bool(pa.types.is_floating(arrow_type) or pa.types.is_integer(arrow_type))
    if dtype == "boolean":
        return bool(pa.types.is_boolean(arrow_type))
    return bool(pa.types.is_date(arrow_type) or pa.types.is_timestamp(arrow_type))


def _read_parquet(spec: DatasetSpec, columns: list[str]) -> tuple[pa.Table, str]:
    path = spec.source_path
    with path.open("rb") as handle:
        digest = hashlib.sha256()
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
        handle.seek(0)
        try:
            parquet = pq.ParquetFile(handle)
            schema = parquet.schema_arrow
            _check_declared(spec, list(schema.names), path)
            for name in columns:
                arrow_type = schema.field(name).type
                if not _arrow_matches(spec.columns[name].dtype, arrow_type):
                    raise ValidationError(
                        f"column {name!r} is {arrow_type}, spec says {spec.columns[name].dtype}",
                        file=str(path),
                        field=name,
                    )
            table = parquet.read(columns=columns)
        except (pa.ArrowException, OSError) as exc:
            kind = type(exc).__name__
            raise ValidationError(f"not a readable Parquet file ({kind})", file=str(path)) from None
    return table, digest.hexdigest()


def read_minimized(spec: DatasetSpec, purpose: PurposeSpec) -> tuple[pa.Table, str]:
    """Read only the purpose's columns; returns the Arrow table and the source file's SHA-256."""
    path = spec.source_path
    if not path.is_file():
        raise ValidationError("data file not found", file=str(path), field="source.path")
    columns = purpose.read_columns
    if spec.source_format == "csv":
        return _read_csv(spec, columns)
    return _read_parquet(spec, columns)


def _to_frame(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas(date_as_object=False)
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].astype("string")
    return frame


def apply_transforms(
    frame: pd.DataFrame, purpose: PurposeSpec, key: Callable[[], bytes]
) -> pd.DataFrame:
    """Run the purpose's privacy transformers, in a stable order, over the frame."""
    for _name, transformer in build_transformers(purpose.transforms, key):
        frame = transformer.fit_transform(frame)
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{type(transformer).__name__} must return a DataFrame")
    return frame


def load(
    spec: DatasetSpec,
    purpose: str,
    principal: Principal | str,
    *,
    authorizer: Authorizer,
    pseudonymization_key: Callable[[], bytes],
) -> MinimizedData:
    """Check ``dataset:read``, read only the purpose's columns, apply its transforms."""
    purpose_spec = spec.purpose(purpose)
    authorizer.require(principal, "dataset:read", f"dataset:{spec.name}")
    table, source_sha256 = read_minimized(spec, purpose_spec)
    columns = purpose_spec.read_columns
    frame = apply_transforms(_to_frame(table), purpose_spec, pseudonymization_key)
    return MinimizedData(
        dataset=spec.name,
        purpose=purpose,
        frame=frame,
        columns=columns,
        transforms={name: purpose_spec.transforms[name].label for name in columns},
        row_count=table.num_rows,
        source_sha256=source_sha256,
        fingerprint=dataset_fingerprint(source_sha256, columns, table.num_rows),
    )

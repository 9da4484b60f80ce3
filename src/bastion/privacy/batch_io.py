"""Streaming readers and atomic writers for ``bastion privacy deid``.

Input is read in chunks (CSV rows or Parquet record batches) so memory stays flat
whatever the file size; output goes to a hidden temporary file beside the target
and is renamed into place only when the whole job succeeded.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bastion.core.errors import ValidationError

MAX_FIELD_CHARS = 64 * 1024 * 1024


def detect_format(path: Path) -> str:
    """``csv`` or ``parquet`` from the file name."""
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt"}:
        return "csv"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    raise ValidationError(
        "unsupported file type; use .csv or .parquet", file=str(path), field="format"
    )


class CountingReader(io.RawIOBase):
    """A binary reader that counts bytes consumed, for the progress bar."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)


class CsvChunks:
    """Header and row chunks of a UTF-8 CSV file; ragged rows and bad bytes are errors."""

    def __init__(self, path: Path, chunk_rows: int) -> None:
        self.path = path
        self.chunk_rows = chunk_rows
        self.size = path.stat().st_size
        if self.size == 0:
            raise ValidationError("the file is empty (expected a header row)", file=str(path))
        self._binary = path.open("rb")
        self._counter = CountingReader(self._binary)
        # surrogateescape lets a bad byte reach the row it is in, so the error can name
        # that line; every row is then checked with a strict re-encode.
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._counter),
            encoding="utf-8",
            errors="surrogateescape",
            newline="",
        )
        csv.field_size_limit(MAX_FIELD_CHARS)
        self._reader = csv.reader(self._text, strict=True)
        first = self._next_row()
        if first is None or first == []:
            self.close()
            raise ValidationError("the file has no header row", file=str(path), line=1)
        if len(set(first)) != len(first):
            self.close()
            raise ValidationError("duplicate column names in the header", file=str(path), line=1)
        self.header: list[str] = first

    @property
    def consumed(self) -> int:
        """Bytes of input read so far."""
        return self._counter.consumed

    def _next_row(self) -> list[str] | None:
        try:
            row = next(self._reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise ValidationError(
                f"malformed CSV: {exc}", file=str(self.path), line=self._reader.line_num
            ) from None
        for index, cell in enumerate(row):
            try:
                cell.encode("utf-8")
            except UnicodeEncodeError:
                field = (
                    self.header[index]
                    if getattr(self, "header", None) and index < len(self.header)
                    else None
                )
                raise ValidationError(
                    "not UTF-8 text (re-encode the file as UTF-8)",
                    file=str(self.path),
                    line=self._reader.line_num,
                    field=field,
                ) from None
        return row

    def __iter__(self) -> Iterator[list[list[str]]]:
        width = len(self.header)
        chunk: list[list[str]] = []
        while True:
            row = self._next_row()
            if row is None:
                break
            if not row:
                continue  # a blank line
            if len(row) != width:
                raise ValidationError(
                    f"row has {len(row)} fields, the header has {width}",
                    file=str(self.path),
                    line=self._reader.line_num,
                )
            chunk.append(row)
            if len(chunk) >= self.chunk_rows:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def close(self) -> None:
        """Release the file handle."""
        with contextlib.suppress(Exception):
            self._text.close()
        self._binary.close()


def encode_csv(rows: list[list[str]]) -> bytes:
    """Rows as UTF-8 CSV with ``\\n`` line ends and minimal quoting."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


class AtomicOutput:
    """A temporary file beside ``target`` that becomes ``target`` only on :meth:`commit`."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.temp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.partial")
        self.committed = False

    def commit(self) -> None:
        """fsync the temporary file and rename it over the target."""
        with self.temp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self.temp, self.target)
        self.committed = True

    def discard(self) -> None:
        """Remove the temporary file (after a failure)."""
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()

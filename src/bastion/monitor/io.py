"""Read tables in bounded chunks (CSV chunks, Parquet row groups, JSON lines)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from bastion.core.errors import NotFoundError, ValidationError

DEFAULT_CHUNK_ROWS = 200_000


def iter_chunks(
    source: Path | pd.DataFrame, *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Yield ``source`` as data frames of at most ``chunk_rows`` rows, in constant memory."""
    if isinstance(source, pd.DataFrame):
        for start in range(0, max(len(source), 1), chunk_rows):
            yield source.iloc[start : start + chunk_rows]
        return
    path = Path(source)
    if not path.is_file():
        raise NotFoundError(f"{path}: data file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            # One row group at a time and no pre-buffering: iter_batches over the
            # whole file keeps buffers alive and its peak memory grows with the file.
            handle = pq.ParquetFile(path, pre_buffer=False)
            empty = True
            for group in range(handle.metadata.num_row_groups):
                for batch in handle.iter_batches(batch_size=chunk_rows, row_groups=[group]):
                    empty = False
                    yield batch.to_pandas()
            if empty:
                yield handle.schema_arrow.empty_table().to_pandas()
        elif suffix in (".jsonl", ".ndjson"):
            reader = pd.read_json(path, lines=True, chunksize=chunk_rows)
            with reader:
                yield from reader
        elif suffix in (".csv", ".txt", ".tsv"):
            sep = "\t" if suffix == ".tsv" else ","
            reader_csv = pd.read_csv(path, chunksize=chunk_rows, sep=sep, low_memory=False)
            with reader_csv:
                yield from reader_csv
        else:
            raise ValidationError(
                f"unsupported format {suffix or '(none)'}; use .csv, .tsv, .parquet or .jsonl",
                file=str(path),
            )
    except pd.errors.EmptyDataError:
        yield pd.DataFrame()
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        if isinstance(exc, ValidationError):
            raise
        first = str(exc).strip().splitlines()
        raise ValidationError(
            f"cannot be read: {first[0] if first else exc}", file=str(path)
        ) from None

"""Batch de-identification of CSV and Parquet files, locally or on a Dask cluster.

The file is streamed in chunks; each chunk's text columns are detected and
anonymized by a worker (a local process or a Dask worker) and the results are
written back in input order, so the output is byte-identical whatever the
scheduler and worker count.  At most ``2 × workers`` chunks are in flight, so
memory is bounded by the chunk size, not the file size.  A failed job leaves no
output file.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bastion.core.errors import ConfigError, ValidationError
from bastion.privacy.batch_io import AtomicOutput, CsvChunks, detect_format, encode_csv
from bastion.privacy.transform.analyzer import Analyzer
from bastion.privacy.transform.anonymize import anonymize
from bastion.privacy.transform.context import DocumentContext
from bastion.privacy.transform.keys import check_key
from bastion.privacy.transform.policy import OperatorPolicy

DEFAULT_ENGINE = "bastion.privacy.detect:default_engine"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DeidJob:
    """What to do to each chunk; small and picklable, shipped with every task."""

    text_columns: tuple[str, ...]
    policy: OperatorPolicy = field(default_factory=OperatorPolicy)
    key: bytes | None = field(default=None, repr=False)
    person_column: str | None = None
    drop_columns: tuple[str, ...] = ()
    engine: str = DEFAULT_ENGINE

    def __post_init__(self) -> None:
        if not self.text_columns:
            raise ConfigError("name at least one text column (--text-columns)")
        if self.key is not None:
            check_key(self.key, "pseudonymization key")
        elif self.policy.needs_key:
            raise ConfigError(
                f"the policy uses keyed operators ({', '.join(self.policy.keyed_operators())}); "
                "supply a key (--key-from secrets)"
            )
        if ":" not in self.engine:
            raise ConfigError("engine must be 'module:factory'")


@dataclass(frozen=True)
class DeidResult:
    """Counts describing a finished job (no values)."""

    output: Path
    rows: int
    chunks: int
    bytes_in: int
    bytes_out: int


_ENGINES: dict[str, Analyzer] = {}


def engine_for(spec: str) -> Analyzer:
    """The engine named ``module:factory``, built once per worker process."""
    engine = _ENGINES.get(spec)
    if engine is None:
        module_name, _, attribute = spec.partition(":")
        factory = getattr(importlib.import_module(module_name), attribute)
        engine = factory()
        _ENGINES[spec] = engine
    return engine


def deidentify_rows(
    job: DeidJob, header: Sequence[str], columns: dict[str, list[Any]]
) -> dict[str, list[Any]]:
    """Anonymize the text columns of one chunk (column-oriented); other columns untouched."""
    engine = engine_for(job.engine)
    count = len(next(iter(columns.values()))) if columns else 0
    people = columns[job.person_column] if job.person_column else [None] * count
    outputs = {name: list(columns[name]) for name in job.text_columns}
    for row in range(count):
        person = people[row]
        context = DocumentContext(job.key, person_id=None if person in (None, "") else str(person))
        for name in job.text_columns:
            value = outputs[name][row]
            if value is None or value == "":
                continue
            text = str(value)
            outputs[name][row] = anonymize(
                text, engine.analyze(text), job.policy, context=context
            ).text
    result = {name: columns[name] for name in header if name not in job.drop_columns}
    for name in job.text_columns:
        if name not in job.drop_columns:
            result[name] = outputs[name]
    return result


def process_csv_chunk(job: DeidJob, header: list[str], rows: list[list[str]]) -> bytes:
    """One CSV chunk in, its de-identified CSV bytes out (no header)."""
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    done = deidentify_rows(job, header, columns)
    names = list(done)
    return encode_csv([list(values) for values in zip(*(done[n] for n in names), strict=True)])


def process_arrow_chunk(job: DeidJob, batch: Any) -> Any:
    """One Arrow record batch in, the de-identified batch out (same schema minus drops)."""
    import pyarrow as pa

    header = list(batch.schema.names)
    columns = {name: batch.column(i).to_pylist() for i, name in enumerate(header)}
    done = deidentify_rows(job, header, columns)
    arrays = []
    fields = []
    for name in done:
        source = batch.schema.field(name)
        if name in job.text_columns:
            arrays.append(pa.array(done[name], type=source.type))
        else:
            arrays.append(batch.column(header.index(name)))
        fields.append(source)
    return pa.RecordBatch.from_arrays(
        arrays, schema=pa.schema(fields, metadata=batch.schema.metadata)
    )


class _Handle(Protocol):
    def result(self) -> Any: ...


class _Done:
    """An already computed result, for the in-process runner."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self) -> Any:
        return self._value


class Runner:
    """Submits chunk tasks to the chosen scheduler."""

    def __init__(self, scheduler: str, workers: int) -> None:
        self.workers = max(1, workers)
        self.scheduler = scheduler
        self._pool: ProcessPoolExecutor | None = None
        self._client: Any = None
        if scheduler == "local":
            if self.workers > 1:
                method = (
                    "forkserver"
                    if "forkserver" in multiprocessing.get_all_start_methods()
                    else "spawn"
                )
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context(method)
                )
        elif scheduler.startswith(("tcp://", "tls://")):
            try:
                from distributed import Client
            except ImportError as exc:
                raise ConfigError(
                    "--scheduler tcp:// needs bastion[scale] (dask.distributed)"
                ) from exc
            try:
                self._client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
            except (OSError, TimeoutError) as exc:
                from bastion.core.errors import ServiceUnavailableError

                raise ServiceUnavailableError(
                    f"cannot reach the Dask scheduler at {scheduler}: {exc}"
                ) from exc
            self.workers = max(
                1, len(self._client.scheduler_info().get("workers", {})) or self.workers
            )
        else:
            raise ConfigError(f"unknown scheduler {scheduler!r}; use 'local' or tcp://HOST:PORT")

    @property
    def max_in_flight(self) -> int:
        """Chunks submitted but not yet written."""
        return 2 * self.workers

    def submit(self, function: Callable[..., Any], *args: Any) -> _Handle:
        if self._pool is not None:
            future: Future[Any] = self._pool.submit(function, *args)
            return future
        if self._client is not None:
            return self._client.submit(function, *args, pure=False)  # type: ignore[no-any-return]
        return _Done(function(*args))

    def close(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
        if self._client is not None:
            self._client.close()


def deidentify_file(
    source: str | Path,
    target: str | Path,
    job: DeidJob,
    *,
    scheduler: str = "local",
    workers: int | None = None,
    chunk_rows: int = 2000,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> DeidResult:
    """De-identify ``source`` (CSV or Parquet) into ``target`` of the same format.

    Raises ``ValidationError`` for bad input (naming file, line, field) and leaves no
    output file behind on any failure.
    """
    source_path, target_path = Path(source), Path(target)
    if chunk_rows < 1:
        raise ConfigError("--chunk-rows must be at least 1")
    if not source_path.is_file():
        raise ConfigError(f"{source_path}: input file not found")
    kind = detect_format(source_path)
    if detect_format(target_path) != kind:
        raise ConfigError(f"output must be {kind} like the input: {target_path}")
    if target_path.exists() and target_path.resolve() == source_path.resolve():
        raise ConfigError("output would overwrite the input")
    if target_path.exists() and not overwrite:
        raise ConfigError(f"{target_path} exists; pass --overwrite to replace it")
    if not target_path.parent.is_dir():
        raise ConfigError(f"{target_path.parent}: output directory does not exist")
    output = AtomicOutput(target_path)
    runner: Runner | None = None
    try:
        if kind == "csv":
            reader = CsvChunks(source_path, chunk_rows)
            try:
                _check_columns(job, reader.header, str(source_path))
                runner = Runner(scheduler, workers or os.cpu_count() or 1)
                rows, chunks = _run_csv(reader, output, job, runner, progress)
            finally:
                reader.close()
        else:
            runner_factory = lambda: Runner(scheduler, workers or os.cpu_count() or 1)  # noqa: E731
            rows, chunks, runner = _run_parquet(
                source_path, output, job, runner_factory, chunk_rows, progress
            )
        runner.close()
        runner = None
        output.commit()
    except BaseException:
        if runner is not None:
            runner.close(cancel=True)
        output.discard()
        raise
    return DeidResult(
        output=target_path,
        rows=rows,
        chunks=chunks,
        bytes_in=source_path.stat().st_size,
        bytes_out=target_path.stat().st_size,
    )


def _check_columns(job: DeidJob, header: Sequence[str], source: str) -> None:
    wanted = [*job.text_columns, *job.drop_columns]
    if job.person_column:
        wanted.append(job.person_column)
    for name in wanted:
        if name not in header:
            raise ValidationError(
                f"column {name!r} is not in the input (columns: {', '.join(header)})",
                file=source,
                field=name,
            )


def _run_csv(
    reader: CsvChunks,
    output: AtomicOutput,
    job: DeidJob,
    runner: Runner,
    progress: Progress | None,
) -> tuple[int, int]:
    header = reader.header
    kept = [name for name in header if name not in job.drop_columns]
    pending: deque[tuple[_Handle, int, int]] = deque()
    rows = chunks = 0
    with output.temp.open("wb") as sink:
        sink.write(encode_csv([kept]))

        def drain_one() -> None:
            handle, position, _count = pending.popleft()
            sink.write(handle.result())
            if progress is not None:
                progress(position, reader.size)

        for chunk in reader:
            pending.append(
                (runner.submit(process_csv_chunk, job, header, chunk), reader.consumed, len(chunk))
            )
            rows += len(chunk)
            chunks += 1
            while len(pending) >= runner.max_in_flight:
                drain_one()
        while pending:
            drain_one()
        if progress is not None:
            progress(reader.size, reader.size)
    return rows, chunks


def _run_parquet(
    source: Path,
    output: AtomicOutput,
    job: DeidJob,
    runner_factory: Callable[[], Runner],
    chunk_rows: int,
    progress: Progress | None,
) -> tuple[int, int, Runner]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if source.stat().st_size == 0:
        raise ValidationError("the file is empty", file=str(source))
    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationError(f"not a readable Parquet file ({exc})", file=str(source)) from None
    schema = parquet.schema_arrow
    _check_columns(job, schema.names, str(source))
    for name in job.text_columns:
        field_type = schema.field(name).type
        if not (pa.types.is_string(field_type) or pa.types.is_large_string(field_type)):
            raise ValidationError(
                f"text column must hold strings, not {field_type}", file=str(source), field=name
            )
    kept = pa.schema(
        [schema.field(n) for n in schema.names if n not in job.drop_columns],
        metadata=schema.metadata,
    )
    total = parquet.metadata.num_rows
    runner = runner_factory()
    pending: deque[_Handle] = deque()
    rows = chunks = 0
    try:
        with pq.ParquetWriter(output.temp, kept) as writer:

            def drain_one() -> None:
                nonlocal rows
                batch = pending.popleft().result()
                writer.write_batch(batch, row_group_size=chunk_rows)
                rows += batch.num_rows
                if progress is not None:
                    progress(rows, total)

            batches = parquet.iter_batches(batch_size=chunk_rows)
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    break
                except (pa.ArrowException, OSError) as exc:
                    raise ValidationError(
                        f"corrupt Parquet data after {chunks * chunk_rows} rows ({exc})",
                        file=str(source),
                    ) from None
                pending.append(runner.submit(process_arrow_chunk, job, batch))
                chunks += 1
                while len(pending) >= runner.max_in_flight:
                    drain_one()
            while pending:
                drain_one()
    except BaseException:
        runner.close(cancel=True)
        raise
    return rows, chunks, runner

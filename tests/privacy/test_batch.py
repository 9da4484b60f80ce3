from __future__ import annotations

import csv
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bastion.cli.main import run
from bastion.core.errors import ConfigError, ValidationError
from bastion.privacy.batch import DeidJob, deidentify_file
from bastion.privacy.transform import deanonymize, parse_policy

FAKE = "tests.privacy.transform.helpers:fake_engine"
KEY = bytes(range(32))
POLICY = parse_policy(
    "default: replace\n"
    "entities:\n"
    "  EMAIL_ADDRESS: pseudonymize\n"
    "  PERSON: surrogate\n"
    "  US_SSN: encrypt\n"
    "  DATE_TIME: date_shift\n"
)


def write_notes(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient", "visit", "notes", "extra"])
        for i in range(rows):
            writer.writerow(
                [
                    f"P{i % 7}",
                    str(i),
                    f"Dr. Ann Lee{i % 3} saw Mr. Bob Ray on 2023-0{i % 9 + 1}-15, SSN "
                    f"123-45-{i:04d}, mail a{i}@x.org b{i}@y.org c@z.net",
                    "" if i % 5 else 'Call 555-123-4567, "quoted", multi\nline',
                ]
            )


def job(**overrides: object) -> DeidJob:
    settings: dict[str, object] = {
        "text_columns": ("notes", "extra"),
        "policy": POLICY,
        "key": KEY,
        "person_column": "patient",
        "engine": FAKE,
    }
    settings.update(overrides)
    return DeidJob(**settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def dask_scheduler() -> object:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def test_csv_output_is_identical_for_any_scheduler_workers_and_chunking(
    tmp_path: Path, dask_scheduler: str
) -> None:
    source = tmp_path / "notes.csv"
    write_notes(source, 120)
    runs = {
        "inline": {"workers": 1, "chunk_rows": 50},
        "local2": {"workers": 2, "chunk_rows": 7},
        "dask": {"scheduler": dask_scheduler, "chunk_rows": 13},
    }
    outputs = {}
    for name, options in runs.items():
        target = tmp_path / f"{name}.csv"
        result = deidentify_file(source, target, job(), **options)  # type: ignore[arg-type]
        assert result.rows == 120
        outputs[name] = target.read_bytes()
    assert outputs["inline"] == outputs["local2"] == outputs["dask"]
    text = outputs["inline"].decode()
    for raw in ("Ann Lee", "Bob Ray", "a0@x.org", "c@z.net", "123-45-0001", "555-123-4567"):
        assert raw not in text
    rows = list(csv.reader(text.splitlines(keepends=True)))
    assert rows[0] == ["patient", "visit", "notes", "extra"]
    assert len(rows) == 121
    # Encrypted SSNs come back with the key.
    assert "123-45-0001" in deanonymize(rows[2][2], KEY)
    # A different key gives different, unlinkable output.
    other = tmp_path / "other.csv"
    deidentify_file(source, other, job(key=bytes(range(2, 34))), workers=1)
    assert other.read_bytes() != outputs["inline"]


def test_parquet_round_trip_identical_across_schedulers(
    tmp_path: Path, dask_scheduler: str
) -> None:
    source_csv = tmp_path / "notes.csv"
    write_notes(source_csv, 60)
    with source_csv.open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    table = pa.Table.from_pylist(records)
    source = tmp_path / "notes.parquet"
    pq.write_table(table, source, row_group_size=25)
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    deidentify_file(source, first, job(drop_columns=("visit",)), workers=1, chunk_rows=20)
    deidentify_file(
        source, second, job(drop_columns=("visit",)), scheduler=dask_scheduler, chunk_rows=20
    )
    assert first.read_bytes() == second.read_bytes()
    out = pq.read_table(first)
    assert out.column_names == ["patient", "notes", "extra"]
    assert out.num_rows == 60
    assert "Ann Lee" not in " ".join(out.column("notes").to_pylist())


def test_drop_columns_and_csv_quoting_survive(tmp_path: Path) -> None:
    source = tmp_path / "notes.csv"
    write_notes(source, 6)
    target = tmp_path / "out.csv"
    deidentify_file(source, target, job(drop_columns=("visit",)), workers=1)
    rows = list(csv.reader(target.open(encoding="utf-8", newline="")))
    assert rows[0] == ["patient", "notes", "extra"]
    assert rows[1][2] == 'Call <PHONE_NUMBER_1>, "quoted", multi\nline'


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("latin1.csv", b"notes\nok\nJos\xe9 called\n", "not UTF-8"),
        ("ragged.csv", b"id,notes\n1,ok\n2,ok,extra\n", "row has 3 fields"),
        ("missing.csv", b"id,text\n1,ok\n", "'notes' is not in the input"),
        ("empty.csv", b"", "empty"),
        ("dupe.csv", b"notes,notes\n", "duplicate"),
        ("corrupt.parquet", b"PAR1 this is not parquet PAR1", "Parquet"),
        ("empty.parquet", b"", "empty"),
    ],
)
def test_bad_input_is_a_clear_error_and_leaves_no_output(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    target = tmp_path / ("out" + source.suffix)
    with pytest.raises(ValidationError, match=message) as caught:
        deidentify_file(source, target, job(text_columns=("notes",), person_column=None))
    assert caught.value.file == str(source)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_ragged_row_error_names_the_line(tmp_path: Path) -> None:
    source = tmp_path / "ragged.csv"
    source.write_text("id,notes\n1,a\n2,b\n3\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        deidentify_file(
            source, tmp_path / "o.csv", job(text_columns=("notes",), person_column=None)
        )
    assert caught.value.line == 4


def test_failure_midway_leaves_no_partial_output(tmp_path: Path) -> None:
    source = tmp_path / "notes.csv"
    with source.open("w", encoding="utf-8") as handle:
        handle.write("notes\n")
        handle.writelines(f"note {i} by Dr. Ann Lee\n" for i in range(200))
        handle.write("EXPLODE\n")
    target = tmp_path / "out.csv"
    failing = job(
        text_columns=("notes",),
        person_column=None,
        engine="tests.privacy.batch_helpers:exploding_engine",
    )
    with pytest.raises(RuntimeError, match="worker failure"):
        deidentify_file(source, target, failing, workers=2, chunk_rows=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.csv"]


def test_configuration_errors(tmp_path: Path) -> None:
    source = tmp_path / "notes.csv"
    write_notes(source, 2)
    with pytest.raises(ConfigError, match="keyed operators"):
        job(key=None)
    with pytest.raises(ConfigError, match="text column"):
        job(text_columns=())
    existing = tmp_path / "exists.csv"
    existing.write_text("keep me", encoding="utf-8")
    with pytest.raises(ConfigError, match="--overwrite"):
        deidentify_file(source, existing, job())
    assert existing.read_text(encoding="utf-8") == "keep me"
    with pytest.raises(ConfigError, match="like the input"):
        deidentify_file(source, tmp_path / "out.parquet", job())
    with pytest.raises(ConfigError, match="scheduler"):
        deidentify_file(source, tmp_path / "out.csv", job(), scheduler="yarn")


def run_cli(*args: str) -> int:
    """``bastion ARGS`` through the console-script entry, with its error mapping."""
    old_argv = sys.argv
    sys.argv = ["bastion", *args]
    try:
        run()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        sys.argv = old_argv
    return 0


def test_cli_exit_codes_and_real_engine(tmp_path: Path) -> None:
    source = tmp_path / "tickets.csv"
    source.write_text(
        'id,notes\n1,"Contact a.b@example.com c.d@corp.org e_f@mail.net today"\n',
        encoding="utf-8",
    )
    target = tmp_path / "out.csv"
    code = run_cli(
        "privacy",
        "deid",
        str(source),
        str(target),
        "--text-columns",
        "notes",
        "--key-from",
        "none",
        "--workers",
        "1",
        "--quiet",
    )
    assert code == 0
    text = target.read_text(encoding="utf-8")
    for raw in ("a.b@example.com", "c.d@corp.org", "e_f@mail.net"):
        assert raw not in text
    assert "<EMAIL_ADDRESS_1> <EMAIL_ADDRESS_2> <EMAIL_ADDRESS_3>" in text
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,notes\n1,\xff\xfe\n")
    code = run_cli(
        "privacy",
        "deid",
        str(bad),
        str(tmp_path / "bad-out.csv"),
        "--text-columns",
        "notes",
        "--key-from",
        "none",
        "--quiet",
    )
    assert code == 2
    assert not (tmp_path / "bad-out.csv").exists()
    policy = tmp_path / "policy.yaml"
    policy.write_text("default: pseudonymize\n", encoding="utf-8")
    code = run_cli(
        "privacy",
        "deid",
        str(source),
        str(tmp_path / "o2.csv"),
        "--text-columns",
        "notes",
        "--policy",
        str(policy),
        "--key-from",
        "none",
        "--quiet",
    )
    assert code == 2
    assert not (tmp_path / "o2.csv").exists()


def test_cli_takes_the_key_from_secrets(tmp_path: Path) -> None:
    from bastion.core.settings import load_settings
    from bastion.secrets import keyring_from_settings

    keyring_from_settings(load_settings()).init()
    source = tmp_path / "in.csv"
    source.write_text("id,notes\n1,mail ann@example.com\n", encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text("default: pseudonymize\n", encoding="utf-8")
    outputs = []
    for name in ("a.csv", "b.csv"):
        code = run_cli(
            "privacy",
            "deid",
            str(source),
            str(tmp_path / name),
            "--text-columns",
            "notes",
            "--policy",
            str(policy),
            "--workers",
            "1",
            "--quiet",
        )
        assert code == 0
        outputs.append((tmp_path / name).read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    assert "ann@example.com" not in outputs[0] and "<EMAIL_ADDRESS:" in outputs[0]


def test_non_utf8_error_names_the_line_and_field(tmp_path: Path) -> None:
    source = tmp_path / "latin1.csv"
    source.write_bytes(b"id,notes\n1,fine\n2,Jos\xe9 called\n")
    with pytest.raises(ValidationError) as caught:
        deidentify_file(
            source, tmp_path / "o.csv", job(text_columns=("notes",), person_column=None)
        )
    assert (caught.value.line, caught.value.field) == (3, "notes")

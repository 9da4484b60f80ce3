"""The pickle scanner flags code-execution imports without ever running the file."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from bastion.pipeline import scan_bytes, scan_file
from tests.pipeline.helpers import run_cli


class _WritesMarker:
    """Pickles to a call that would create a marker file if it were ever loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _opcodes(*parts: bytes) -> bytes:
    return b"".join(parts)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_reduce_payload_is_flagged_and_never_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], protocol: int
) -> None:
    marker = tmp_path / "PWNED"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(_WritesMarker(marker), protocol=protocol))
    result = run_cli(capsys, "model", "scan", str(path))
    assert result.exit_code == 1
    assert "critical" in result.out and "system" in result.out
    assert not marker.exists()


def test_benign_files_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = LogisticRegression().fit(np.random.default_rng(0).random((30, 3)), np.arange(30) % 2)
    for name, data in {
        "plain.pkl": pickle.dumps({"weights": [1.0, 2.0], "name": "m"}),
        "sk.pkl": pickle.dumps(model),
    }.items():
        (tmp_path / name).write_bytes(data)
        assert run_cli(capsys, "model", "scan", str(tmp_path / name)).exit_code == 0
    for compress in (0, 3, "gzip", "bz2", "xz"):
        target = tmp_path / f"m-{compress}.joblib"
        joblib.dump(model, target, compress=compress)
        report = scan_file(target)
        assert not report.dangerous, report.findings


def test_payload_inside_joblib_compressed_and_with_arrays(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    for compress in (0, 3, "bz2", "xz"):
        target = tmp_path / f"evil-{compress}.joblib"
        joblib.dump({"a": np.arange(1000.0), "x": _WritesMarker(marker)}, target, compress=compress)
        assert scan_file(target).dangerous
    assert not marker.exists()


def test_stack_global_names_from_memo_are_resolved() -> None:
    # Module and name are memoized strings fetched back with BINGET before STACK_GLOBAL.
    data = _opcodes(
        b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94",
        b"h\x00h\x01\x93\x8c\x04echo\x85R.",
    )
    report = scan_bytes(data)
    assert report.dangerous
    assert "os.system" in report.imports


def test_dynamically_built_import_is_high() -> None:
    # STACK_GLOBAL operands made by a call cannot be resolved statically: suspect in itself.
    data = b"\x80\x04\x8c\x08builtins\x8c\x03str\x93)R\x8c\x01x\x93."
    report = scan_bytes(data)
    assert report.dangerous
    assert any(f.kind == "dynamic-import" for f in report.findings)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("builtins", "eval"),
        ("builtins", "getattr"),
        ("__builtin__", "exec"),
        ("subprocess", "Popen"),
        ("socket", "create_connection"),
        ("runpy", "run_path"),
        ("_io", "FileIO"),
        ("pip", "main"),
        ("code", "InteractiveInterpreter"),
        ("ctypes", "CDLL"),
        ("operator", "attrgetter"),
        ("operator", "methodcaller"),
        ("torch.hub", "load"),
        ("importlib", "import_module"),
        ("pty", "spawn"),
        ("webbrowser", "open"),
        ("pickle", "loads"),
        ("numpy.testing._private.utils", "runstring"),
        ("builtins", "object.__subclasses__"),
    ],
)
def test_known_dangerous_imports(module: str, name: str) -> None:
    protocol0 = f"c{module}\n{name}\n(tR.".encode()  # GLOBAL
    inst = f"(i{module}\n{name}\n.".encode()  # INST
    stack = (
        b"\x80\x04\x8c" + bytes([len(module)]) + module.encode()
        + b"\x8c" + bytes([len(name)]) + name.encode() + b"\x93."
    )  # fmt: skip
    for data in (protocol0, inst, stack):
        assert scan_bytes(data).dangerous, (module, name, data)


def test_pickles_inside_zip_containers_are_found_whatever_their_name() -> None:
    evil = pickle.dumps(_WritesMarker(Path("/nonexistent")), protocol=2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"ok": 1}, protocol=2))
        archive.writestr("archive/weights.bin", evil)  # non-standard name
        archive.writestr("archive/data/0", os.urandom(64))
    data = bytearray(buffer.getvalue())
    report = scan_bytes(bytes(data), "model.pt")
    assert report.dangerous
    assert any("weights.bin" in f.location for f in report.findings)
    # Corrupt the central directory and CRCs: the local headers still lead to the payload.
    cut = bytes(data[: data.rfind(b"PK\x01\x02")])
    assert scan_bytes(cut, "model.pt").dangerous


def test_object_npy_is_scanned(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.array([_WritesMarker(tmp_path / "PWNED")], dtype=object), allow_pickle=True)
    assert scan_file(path).dangerous
    np.save(path, np.arange(10))
    assert not scan_file(path).dangerous


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    report = scan_bytes(data)
    assert report.path == "<bytes>"

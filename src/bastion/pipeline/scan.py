"""Static scanning of pickle, joblib, NumPy and PyTorch-zip files: never executes them.

The scanner walks opcodes with :func:`pickletools.genops` and simulates the
pickle stack just far enough to know which strings reach ``STACK_GLOBAL``, so
names built from memo entries or earlier strings are resolved, not guessed.
Containers are unpacked by hand (zip local headers are walked directly, so a
renamed entry, odd flag bits or a bad CRC do not hide a pickle), compressed
joblib payloads are decompressed with the standard library under a size cap.
"""

from __future__ import annotations

import bz2
import gzip
import io
import itertools
import lzma
import pickletools
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CRITICAL = "critical"
HIGH = "high"
MEDIUM = "medium"
INFO = "info"
SEVERITY_ORDER = {CRITICAL: 0, HIGH: 1, MEDIUM: 2, INFO: 3}

MAX_EXPANDED_BYTES = 1 << 30  # decompression cap per scan (zip bombs, joblib bombs)
MAX_DEPTH = 6

# Any import from these modules (or their submodules) can run code, touch files or the network.
DANGEROUS_MODULES: frozenset[str] = frozenset(
    {
        "os", "posix", "nt", "subprocess", "_posixsubprocess", "_winapi", "socket", "_socket",
        "socketserver", "runpy", "importlib", "imp", "zipimport", "pkgutil", "pty", "shutil",
        "sys", "webbrowser", "pickle", "_pickle", "cPickle", "dill", "cloudpickle", "marshal",
        "shelve", "ctypes", "_ctypes", "code", "codeop", "pip", "ensurepip", "venv", "_io", "io",
        "asyncio", "multiprocessing", "concurrent", "threading", "_thread", "pdb", "bdb",
        "timeit", "cProfile", "profile", "trace", "doctest", "pydoc", "idlelib", "lib2to3",
        "distutils", "setuptools", "_osx_support", "_aix_support", "sysconfig", "site",
        "http", "urllib", "urllib2", "requests", "httpx", "ftplib", "smtplib", "telnetlib",
        "xmlrpc", "signal", "commands", "popen2", "types", "gc", "inspect", "tempfile",
        "logging", "platform", "glob", "fileinput", "zipfile", "tarfile", "sqlite3",
    }
)  # fmt: skip
# Specific callables in otherwise common modules.
DANGEROUS_NAMES: frozenset[tuple[str, str]] = frozenset(
    {
        ("builtins", name)
        for name in (
            "eval", "exec", "execfile", "compile", "open", "file", "__import__", "getattr",
            "setattr", "delattr", "globals", "locals", "vars", "input", "breakpoint", "apply",
            "reload", "help", "memoryview", "exit", "quit",
        )
    }
    | {
        ("operator", "attrgetter"), ("operator", "methodcaller"), ("operator", "call"),
        ("_operator", "attrgetter"), ("_operator", "methodcaller"), ("_operator", "call"),
        ("functools", "reduce"), ("functools", "partial"), ("_functools", "reduce"),
        ("_functools", "partial"), ("uuid", "_get_command_stdout"), ("uuid", "_popen"),
        ("numpy.testing._private.utils", "runstring"), ("numpy", "load"), ("numpy", "fromfile"),
        ("numpy.lib.npyio", "load"), ("numpy", "loadtxt"), ("pandas", "read_pickle"),
        ("pandas.io.pickle", "read_pickle"), ("torch", "load"), ("torch.serialization", "load"),
        ("joblib", "load"), ("joblib.numpy_pickle", "load"), ("copyreg", "_reconstructor_eval"),
    }
)  # fmt: skip
DANGEROUS_PREFIXES: tuple[str, ...] = (
    "torch.hub", "torch.utils.cpp_extension", "torch._dynamo", "torch._inductor",
    "torch.distributed", "torch.jit", "torch.package", "keras.utils.get_file",
    "tensorflow.io", "tensorflow.python.platform.gfile", "numpy.distutils", "numpy.f2py",
)  # fmt: skip
BUILTIN_ALIASES = frozenset({"builtins", "__builtin__", "__builtins__"})

# Imports that ordinary model files contain; anything else is reported for review.
SAFE_PREFIXES: tuple[str, ...] = (
    "collections.", "numpy.", "numpy._core.", "numpy.core.", "scipy.sparse.", "pandas.core.",
    "pandas._libs.", "sklearn.", "joblib.numpy_pickle.", "torch._utils.", "torch.nn.",
    "torch.", "datetime.", "decimal.", "_codecs.encode", "copyreg._reconstructor",
    "copy_reg._reconstructor", "builtins.set", "builtins.frozenset", "builtins.dict",
    "builtins.list", "builtins.tuple", "builtins.bytearray", "builtins.bytes",
    "builtins.complex", "builtins.slice", "builtins.range", "builtins.object",
    "builtins.int", "builtins.float", "builtins.str", "builtins.bool", "__builtin__.set",
    "__builtin__.object", "uuid.UUID", "fractions.Fraction", "pathlib.",
)  # fmt: skip

_STRING_OPS = frozenset(
    {
        "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
        "BINUNICODE8",
    }
)  # fmt: skip
_PUT_OPS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_GET_OPS = frozenset({"GET", "BINGET", "LONG_BINGET"})


@dataclass(frozen=True)
class Finding:
    """One thing worth a reviewer's attention, with where it was found."""

    severity: str
    kind: str
    detail: str
    location: str
    offset: int | None = None


@dataclass
class ScanReport:
    """Everything found in one file (and the files inside it)."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    pickles_scanned: int = 0
    imports: list[str] = field(default_factory=list)
    expanded_bytes: int = 0

    @property
    def dangerous(self) -> bool:
        """True when any finding is critical or high: do not load this file."""
        return any(f.severity in (CRITICAL, HIGH) for f in self.findings)

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.location))


class _Mark:
    """The MARK sentinel on the simulated stack."""


class _Unknown:
    """A stack value the scanner does not track."""


_MARK = _Mark()
_UNKNOWN = _Unknown()


def classify_import(module: str, name: str) -> tuple[str, str] | None:
    """``(severity, reason)`` for an import, or ``None`` if it is ordinary for model files."""
    module = module.strip()
    name = name.strip()
    full = f"{module}.{name}"
    root = module.split(".", 1)[0]
    if module in BUILTIN_ALIASES and (("builtins", name) in DANGEROUS_NAMES or "." in name):
        return CRITICAL, "builtin that runs code, reads files or reaches attributes"
    if (module, name) in DANGEROUS_NAMES:
        return CRITICAL, "callable known to run code or load further pickles"
    if root in DANGEROUS_MODULES:
        return CRITICAL, f"import from module {root!r}, which can run commands or touch the system"
    if any(
        full == p or full.startswith(p + ".") or module.startswith(p) for p in DANGEROUS_PREFIXES
    ):
        return CRITICAL, "loader that fetches or compiles code"
    if "." in name:
        # Dotted names reach attributes of the imported object (pickle protocol 4).
        head = name.split(".", 1)[0]
        nested = classify_import(module, head)
        if nested is not None:
            return nested
        return MEDIUM, "dotted attribute import; review"
    safe = f"builtins.{name}" if module in BUILTIN_ALIASES else full
    if any(safe == p or safe.startswith(p) for p in SAFE_PREFIXES):
        return None
    return MEDIUM, "import not on the list of ordinary model-file types; review before loading"


class _PickleWalker:
    """Simulate one pickle's stack to resolve every import it performs."""

    def __init__(self, report: ScanReport, location: str) -> None:
        self.report = report
        self.location = location
        self.stack: list[object] = []
        self.memo: dict[int, object] = {}

    def _pop(self) -> object:
        return self.stack.pop() if self.stack else _UNKNOWN

    def _pop_to_mark(self) -> list[object]:
        items: list[object] = []
        while self.stack:
            item = self.stack.pop()
            if item is _MARK:
                break
            items.append(item)
        items.reverse()
        return items

    def _import(self, module: object, name: object, offset: int, opcode: str) -> None:
        if not isinstance(module, str) or not isinstance(name, str):
            self.report.findings.append(
                Finding(
                    HIGH,
                    "dynamic-import",
                    f"{opcode} with a module or name computed at load time",
                    self.location,
                    offset,
                )
            )
            return
        self.report.imports.append(f"{module}.{name}")
        verdict = classify_import(module, name)
        if verdict is not None:
            severity, reason = verdict
            self.report.findings.append(
                Finding(severity, "import", f"{module}.{name}: {reason}", self.location, offset)
            )

    def step(self, opcode: pickletools.OpcodeInfo, arg: object, offset: int) -> None:
        name = opcode.name
        if name in _STRING_OPS:
            self.stack.append(arg if isinstance(arg, str) else _UNKNOWN)
            return
        if name in _PUT_OPS:
            self.memo[int(arg)] = self.stack[-1] if self.stack else _UNKNOWN  # type: ignore[call-overload]
            return
        if name == "MEMOIZE":
            self.memo[len(self.memo)] = self.stack[-1] if self.stack else _UNKNOWN
            return
        if name in _GET_OPS:
            self.stack.append(self.memo.get(int(arg), _UNKNOWN))  # type: ignore[call-overload]
            return
        if name in ("GLOBAL", "INST"):
            module, _, attr = str(arg).partition(" ")
            self._import(module, attr, offset, name)
            if name == "INST":
                self._pop_to_mark()
            self.stack.append(_UNKNOWN)
            return
        if name == "STACK_GLOBAL":
            attr_value = self._pop()
            module_value = self._pop()
            self._import(module_value, attr_value, offset, name)
            self.stack.append(_UNKNOWN)
            return
        if name in ("EXT1", "EXT2", "EXT4"):
            self.report.findings.append(
                Finding(MEDIUM, "extension", "copyreg extension code import", self.location, offset)
            )
        if name == "DUP":
            self.stack.append(self.stack[-1] if self.stack else _UNKNOWN)
            return
        if name == "MARK":
            self.stack.append(_MARK)
            return
        self._generic(opcode)

    def _generic(self, opcode: pickletools.OpcodeInfo) -> None:
        before = opcode.stack_before
        if pickletools.markobject in before:
            self._pop_to_mark()
            for _ in range(before.index(pickletools.markobject)):
                self._pop()
        else:
            for _ in before:
                self._pop()
        for item in opcode.stack_after:
            self.stack.append(_MARK if item is pickletools.markobject else _UNKNOWN)


def _scan_pickle_stream(data: bytes, location: str, report: ScanReport, strict: bool) -> None:
    """Scan one or more concatenated pickles; report parse problems instead of raising."""
    start = 0
    while start < len(data):
        walker = _PickleWalker(report, location)
        stream = io.BytesIO(data)
        stream.seek(start)
        stopped_at: int | None = None
        try:
            for opcode, arg, offset in pickletools.genops(stream):
                walker.step(opcode, arg, offset if offset is not None else start)
                if opcode.name == "STOP":
                    stopped_at = stream.tell()
        except Exception as exc:  # genops raises ValueError and friends on malformed input
            # joblib writes raw array bytes inside the pickle stream after a NumpyArrayWrapper.
            joblib_arrays = any(name.endswith("NumpyArrayWrapper") for name in report.imports)
            severity = MEDIUM if strict and start == 0 and not joblib_arrays else INFO
            what = "joblib array payload" if joblib_arrays else f"{type(exc).__name__}"
            report.findings.append(
                Finding(
                    severity,
                    "parse-error",
                    f"opcode stream stops parsing ({what}); rest scanned as raw bytes",
                    location,
                    stream.tell(),
                )
            )
            _scan_raw(data[stream.tell() :], location, report, stream.tell())
            report.pickles_scanned += 1
            return
        report.pickles_scanned += 1
        if stopped_at is None or stopped_at >= len(data):
            return
        rest = data[stopped_at:]
        if not rest.strip(b"\x00\n\r\t "):
            return
        start = stopped_at


_RAW_GLOBAL = re.compile(rb"c([A-Za-z_][\w.]{0,100})\n([A-Za-z_][\w.]{0,100})\n")
_RAW_STRING = re.compile(rb"\x8c([\x01-\x40])")


def _scan_raw(data: bytes, location: str, report: ScanReport, base: int) -> None:
    """Heuristics for bytes the opcode walker could not parse (e.g. joblib array payloads)."""
    for match in _RAW_GLOBAL.finditer(data):
        module, name = match.group(1).decode(), match.group(2).decode()
        verdict = classify_import(module, name)
        if verdict is not None and verdict[0] == CRITICAL:
            report.findings.append(
                Finding(
                    CRITICAL,
                    "import",
                    f"{module}.{name}: {verdict[1]} (in unparsed bytes)",
                    location,
                    base + match.start(),
                )
            )
    strings = []
    for match in _RAW_STRING.finditer(data):
        length = match.group(1)[0]
        text = data[match.end() : match.end() + length]
        if re.fullmatch(rb"[A-Za-z_][\w.]*", text):
            strings.append((match.start(), text.decode()))
    for (offset, module), (_, name) in itertools.pairwise(strings):
        verdict = classify_import(module, name)
        if (
            verdict is not None
            and verdict[0] == CRITICAL
            and module.split(".")[0] in (DANGEROUS_MODULES | BUILTIN_ALIASES)
        ):
            report.findings.append(
                Finding(
                    CRITICAL,
                    "import",
                    f"{module}.{name}: {verdict[1]} (in unparsed bytes)",
                    location,
                    base + offset,
                )
            )


def _looks_like_pickle(data: bytes) -> bool:
    if len(data) >= 2 and data[0] == 0x80 and data[1] <= 5:
        return True
    return data[:1] in (b"(", b"c", b"}", b"]", b")", b"N", b"I", b"S", b"V", b"i", b"\x8c")


def _zip_entries(data: bytes, location: str, report: ScanReport) -> Iterator[tuple[str, bytes]]:
    """Walk local file headers directly: the central directory and CRCs are not trusted."""
    header = struct.Struct("<4sHHHHHIIIHH")
    position = data.find(b"PK\x03\x04")
    while position != -1 and position + header.size <= len(data):
        (_, _, flags, method, _, _, _, size, _, name_len, extra_len) = header.unpack_from(
            data, position
        )
        name_start = position + header.size
        name = data[name_start : name_start + name_len].decode("utf-8", "replace")
        body_start = name_start + name_len + extra_len
        body: bytes | None = None
        consumed = size
        try:
            if method == 8:
                inflater = zlib.decompressobj(-15)
                body = inflater.decompress(data[body_start:], MAX_EXPANDED_BYTES)
                consumed = len(data) - body_start - len(inflater.unused_data)
            elif method == 0:
                if flags & 0x08 and size == 0:
                    following = data.find(b"PK", body_start)
                    consumed = (following if following != -1 else len(data)) - body_start
                body = data[body_start : body_start + consumed]
            elif method == 12:
                body = bz2.decompress(data[body_start : body_start + size])
            elif method == 14:
                body = lzma.decompress(data[body_start + 4 : body_start + size])
            else:
                report.findings.append(
                    Finding(
                        MEDIUM, "unscanned", f"zip entry {name!r} uses method {method}", location
                    )
                )
        except (zlib.error, OSError, lzma.LZMAError, ValueError, EOFError):
            report.findings.append(
                Finding(MEDIUM, "unscanned", f"zip entry {name!r} does not decompress", location)
            )
        if body is not None:
            yield name, body
        position = data.find(b"PK\x03\x04", body_start + max(consumed, 0))


def _decompress(data: bytes) -> tuple[str, bytes] | None:
    """Undo joblib's whole-file compression (gzip, zlib, bz2, xz, lzma), capped in size."""
    try:
        if data[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
                return "gzip", handle.read(MAX_EXPANDED_BYTES + 1)
        if data[:3] == b"BZh":
            return "bz2", bz2.BZ2Decompressor().decompress(data, MAX_EXPANDED_BYTES + 1)
        if data[:6] == b"\xfd7zXZ\x00" or data[:3] == b"\x5d\x00\x00":
            return "lzma", lzma.LZMADecompressor().decompress(data, MAX_EXPANDED_BYTES + 1)
        if data[:2] == b"ZF":  # joblib < 0.10 zlib container: "ZF" + hex length + zlib
            return "zlib", zlib.decompressobj().decompress(data[18:], MAX_EXPANDED_BYTES + 1)
        if len(data) > 2 and data[0] == 0x78 and (data[0] * 256 + data[1]) % 31 == 0:
            return "zlib", zlib.decompressobj().decompress(data, MAX_EXPANDED_BYTES + 1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error):
        return None
    return None


def _npy_payload(data: bytes) -> bytes | None:
    """The pickled part of an object-dtype ``.npy`` array, if any."""
    major = data[6]
    if major == 1:
        (length,) = struct.unpack_from("<H", data, 8)
        start = 10
    else:
        (length,) = struct.unpack_from("<I", data, 8)
        start = 12
    header = data[start : start + length].decode("latin-1")
    if re.search(r"'descr':\s*'\|?O", header):
        return data[start + length :]
    return None


def _scan_blob(data: bytes, location: str, report: ScanReport, depth: int, top: bool) -> None:
    if depth > MAX_DEPTH:
        report.findings.append(Finding(HIGH, "nesting", "containers nested too deeply", location))
        return
    report.expanded_bytes += len(data)
    if report.expanded_bytes > MAX_EXPANDED_BYTES:
        report.findings.append(
            Finding(HIGH, "size", "expands beyond the scan limit (possible bomb)", location)
        )
        return
    if data[:4] == b"PK\x03\x04" or (top and b"PK\x03\x04" in data[:1024]):
        for name, body in _zip_entries(data, location, report):
            inner = f"{location}!{name}"
            nested = body[:4] == b"PK\x03\x04" or body[:6] == b"\x93NUMPY"
            if nested or _looks_like_pickle(body) or name.endswith((".pkl", ".pickle")):
                _scan_blob(body, inner, report, depth + 1, top=False)
        return
    if data[:6] == b"\x93NUMPY" and len(data) > 10:
        payload = _npy_payload(data)
        if payload is not None:
            _scan_pickle_stream(payload, f"{location}[object array]", report, strict=True)
        return
    expanded = _decompress(data)
    if expanded is not None:
        kind, body = expanded
        if len(body) > MAX_EXPANDED_BYTES:
            report.findings.append(
                Finding(HIGH, "size", f"{kind} payload expands beyond the scan limit", location)
            )
            return
        _scan_blob(body, f"{location}[{kind}]", report, depth + 1, top=False)
        return
    if top or _looks_like_pickle(data):
        _scan_pickle_stream(data, location, report, strict=top or _looks_like_pickle(data))


def scan_bytes(data: bytes, location: str = "<bytes>") -> ScanReport:
    """Scan in-memory bytes (the same rules as :func:`scan_file`)."""
    report = ScanReport(path=location)
    if not data:
        report.findings.append(Finding(MEDIUM, "empty", "file is empty", location))
        return report
    _scan_blob(data, location, report, depth=0, top=True)
    return report


def scan_file(path: Path) -> ScanReport:
    """Scan a pickle / joblib / ``.npy`` / PyTorch zip file without executing any of it."""
    return scan_bytes(path.read_bytes(), str(path))

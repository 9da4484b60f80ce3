"""Per-call latency of every guard and of the default chain, on 200-byte and 2 KB texts.

Pinned to one CPU core; p50 and p99 over many calls after warm-up.  Side by side in
the same run, when an interpreter with LLM Guard is given (``--llm-guard-python``), its
offline-capable scanners with a counterpart here (InvisibleText vs unicode, Secrets vs
secrets) are timed on the same texts.  LLM Guard's PromptInjection scanner needs a model
download (impossible offline); its published CPU latency is quoted, not measured.

    .venv/bin/python benchmarks/guard_latency.py [--calls 1000] \
        [--llm-guard-python /tmp/lgvenv/bin/python]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bastion.guards import GuardChain, ScanContext, load_chain  # noqa: E402
from bastion.guards.literals import clear_views  # noqa: E402

PROMPT = (
    "I am planning a two-week trip through Portugal in late spring with my partner. We like "
    "hiking, small coastal towns, good food and the occasional museum. Could you suggest a route "
    "starting in Lisbon, with realistic travel times by train or bus, and tell us which places "
    "deserve two nights rather than one? We would also like tips on budget, local dishes to try, "
    "and whether we should rent a car for the Alentejo part of the journey. "
)
RESPONSE = (
    "Here is a suggested route. Start with three nights in Lisbon, then take the train to Porto "
    "for two nights and continue to the Douro valley. For bookings you can write to the guesthouse "
    "owner, Maria Santos, at maria.santos@example.com. In the Alentejo a rental car is the easiest "
    "option because buses are infrequent; budget around 60 euros a day for food and transport. "
)
PUBLISHED_LLM_GUARD_PI_MS = 213.0

LLM_GUARD_SCRIPT = r"""
import importlib.util, json, pathlib, sys, time, types, logging
import importlib.metadata as md
root = pathlib.Path(importlib.util.find_spec("llm_guard").submodule_search_locations[0])
for name, path in (("llm_guard", root), ("llm_guard.input_scanners", root / "input_scanners")):
    mod = types.ModuleType(name); mod.__path__ = [str(path)]; sys.modules[name] = mod
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
from llm_guard.input_scanners.invisible_text import InvisibleText
from llm_guard.input_scanners.secrets import Secrets
texts, calls = json.loads(sys.stdin.read())
out = {"version": md.version("llm-guard"), "results": {}}
for label, scanner in (("InvisibleText", InvisibleText()), ("Secrets", Secrets())):
    for size, text in texts.items():
        n = calls if label == "InvisibleText" else max(50, calls // 10)
        for _ in range(20):
            scanner.scan(text)
        samples = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            scanner.scan(text)
            samples.append(time.perf_counter_ns() - t0)
        samples.sort()
        p50, p99 = samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
        out["results"][f"{label}/{size}"] = [p50 / 1e6, p99 / 1e6, n]
print(json.dumps(out))
"""


def sized(base: str, size: int) -> str:
    text = (base * (size // len(base) + 1))[:size]
    return text[: text.rfind(" ")] if " " in text else text


def measure(fn: Callable[[], object], calls: int) -> tuple[float, float, float, float]:
    """p50 and p99 of wall time, then of CPU time, of ``fn`` in milliseconds.

    Every call starts without a cached view of the text: the guards share one
    lowercase form and trigram table per text within a chain
    (``bastion.guards.literals``), and repeating the same text would otherwise
    measure a cache hit that real traffic, with a new text per call, never gets.
    The CPU time (this thread's) leaves out the time the scheduler gave other
    processes, which dominates the wall-time p99 on a shared machine.
    """
    for _ in range(min(50, calls)):
        fn()
    wall: list[int] = []
    cpu: list[int] = []
    for _ in range(calls):
        clear_views()
        start_cpu = time.thread_time_ns()
        start = time.perf_counter_ns()
        fn()
        wall.append(time.perf_counter_ns() - start)
        cpu.append(time.thread_time_ns() - start_cpu)
    wall.sort()
    cpu.sort()
    mid, tail = len(wall) // 2, int(len(wall) * 0.99)
    return wall[mid] / 1e6, wall[tail] / 1e6, cpu[mid] / 1e6, cpu[tail] / 1e6


def pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--llm-guard-python", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pinned = pin_one_core()
    load_before = os.getloadavg()
    started = time.perf_counter()
    chain: GuardChain = load_chain()
    load_seconds = time.perf_counter() - started
    inputs = {"200B": sized(PROMPT, 200), "2KB": sized(PROMPT, 2048)}
    outputs = {"200B": sized(RESPONSE, 200), "2KB": sized(RESPONSE, 2048)}
    ctx_in, ctx_out = ScanContext(direction="input"), ScanContext(direction="output")
    rows: list[tuple[str, str, float, float, float, float]] = []
    for size in ("200B", "2KB"):
        for guard in chain.input_guards:
            text = inputs[size]
            rows.append(
                (
                    f"input/{guard.name}",
                    size,
                    *measure(lambda g=guard, t=text: g.scan(t, ctx_in), args.calls),
                )
            )
        for guard in chain.output_guards:
            text = outputs[size]
            rows.append(
                (
                    f"output/{guard.name}",
                    size,
                    *measure(lambda g=guard, t=text: g.scan(t, ctx_out), args.calls),
                )
            )
        rows.append(
            (
                "CHAIN input",
                size,
                *measure(lambda s=size: chain.scan_input(inputs[s], ctx_in), args.calls),
            )
        )
        rows.append(
            (
                "CHAIN output",
                size,
                *measure(lambda s=size: chain.scan_output(outputs[s], ctx_out), args.calls),
            )
        )
        rows.append(
            (
                "CHAIN input+output",
                size,
                *measure(
                    lambda s=size: (
                        chain.scan_input(inputs[s], ctx_in),
                        chain.scan_output(outputs[s], ctx_out),
                    ),
                    args.calls,
                ),
            )
        )
    peer: dict[str, object] | None = None
    if args.llm_guard_python:
        proc = subprocess.run(
            [str(args.llm_guard_python), "-c", LLM_GUARD_SCRIPT],
            input=json.dumps([inputs, args.calls]),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            preexec_fn=lambda: os.sched_setaffinity(0, os.sched_getaffinity(0)),
        )
        peer = json.loads(proc.stdout) if proc.returncode == 0 else {"error": proc.stderr[-500:]}
    load_after = os.getloadavg()
    result = {
        "cpu": pinned,
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "chain_load_seconds": round(load_seconds, 2),
        "calls_per_row": args.calls,
        "rows": [
            {
                "name": n,
                "size": s,
                "p50_ms": round(a, 4),
                "p99_ms": round(b, 4),
                "cpu_p50_ms": round(c, 4),
                "cpu_p99_ms": round(d, 4),
            }
            for n, s, a, b, c, d in rows
        ],
        "llm_guard": peer,
        "llm_guard_prompt_injection_published_ms": PUBLISHED_LLM_GUARD_PI_MS,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{pinned}; load average before/after: {load_before[0]:.2f}/{load_after[0]:.2f}; "
        f"default chain built in {load_seconds:.2f} s; {args.calls} calls per row"
    )
    print(f"{'guard':<36} {'size':>5} {'p50 ms':>9} {'p99 ms':>9} {'cpu p50':>9} {'cpu p99':>9}")
    for name, size, p50, p99, cpu50, cpu99 in rows:
        print(f"{name:<36} {size:>5} {p50:>9.4f} {p99:>9.4f} {cpu50:>9.4f} {cpu99:>9.4f}")
    if peer and "results" in peer:
        print(
            f"\nLLM Guard {peer['version']} (same texts, same core), "
            "ratio = LLM Guard p50 / Bastion p50:"
        )
        ours = {(row[0], row[1]): row[2] for row in rows}
        pairs = {"InvisibleText": "input/unicode", "Secrets": "input/secrets"}
        for key, (p50, p99, n) in peer["results"].items():  # type: ignore[union-attr]
            scanner, size = key.split("/")
            mine = ours[(pairs[scanner], size)]
            print(
                f"  {scanner:<14} {size:>5} p50 {p50:9.4f} ms  p99 {p99:9.4f} ms  (n={n})  "
                f"vs {pairs[scanner]} p50 {mine:.4f} ms  ratio {p50 / mine:,.1f}x"
            )
    elif peer:
        print(f"\nLLM Guard run failed: {peer.get('error')}")
    full = {row[1]: row[3] for row in rows if row[0] == "CHAIN input+output"}
    full_cpu = {row[1]: row[5] for row in rows if row[0] == "CHAIN input+output"}
    print(
        "\nLLM Guard PromptInjection (DeBERTa) published CPU latency: "
        f"~{PUBLISHED_LLM_GUARD_PI_MS:.0f} ms "
        f"per call (quoted from its docs, not measured: the model cannot be downloaded here). "
        f"Bastion full input+output chain p99 at 2 KB: {full['2KB']:.3f} ms wall, "
        f"{full_cpu['2KB']:.3f} ms CPU (target: 2 ms)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

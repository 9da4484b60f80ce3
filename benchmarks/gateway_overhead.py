"""Gateway overhead: the same VADER model bare vs behind Bastion, same run, loopback.

Three uvicorn servers (one process each) are started side by side:

* ``bare``    — a minimal FastAPI endpoint calling VADER directly;
* ``bastion`` — the gateway: API-key auth, rate limits (memory), batched audit, empty guard chain;
* ``guards``  — the same gateway with the bundled default guard policy.

A bounded load generator drives each in turn, in interleaved rounds (the order
rotates every round), and reports medians of requests/s, p50, p99.  With
``--client wrk`` (the default when Debian's ``wrk`` is installed) the servers are
pinned to one core and wrk to the other, so a Python client's own CPU cost does
not cap the measurement; ``--client httpx`` is a fixed-count async client.
The machine's load average and the share of CPU busy (from /proc/stat) during
the measured rounds are printed too, because on a shared machine they decide
whether the numbers mean anything.  With wrk, each server's own CPU time per
request (user + system of all its threads, from /proc/PID/stat around each run)
is printed as well: it is the steadier measure when other jobs share the cores,
since requests/s then also depends on how much of its core the server got.

    .venv/bin/python benchmarks/gateway_overhead.py --client wrk --seconds 10 --rounds 3
    .venv/bin/python benchmarks/gateway_overhead.py --client wrk --only bastion  # skip guards
    .venv/bin/python benchmarks/gateway_overhead.py --client httpx --requests 2000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BARE_APP = """
from fastapi import FastAPI
from pydantic import BaseModel
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

analyzer = SentimentIntensityAnalyzer()
app = FastAPI()

class Body(BaseModel):
    inputs: list[str]

@app.post("/v1/predict")
async def predict(body: Body) -> dict:
    out = []
    for text in body.inputs:
        s = analyzer.polarity_scores(text)
        c = s["compound"]
        label = "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"
        out.append({"label": label, "scores": s})
    return {"model": "sentiment", "predictions": out}
"""

TEXT = "The support team was quick and friendly, but the app still crashes on start."


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    target: str, port: int, env: dict[str, str], cwd: Path, cpu: int | None
) -> subprocess.Popen[bytes]:
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    command = [
        *pin,
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if target.endswith("app_factory"):
        command.append("--factory")
    return subprocess.Popen(command, env=env, cwd=cwd)


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"server on {port} did not start")


async def load(
    port: int, headers: dict[str, str], requests: int, concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    body = {"inputs": [TEXT]}
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:

        async def worker() -> None:
            for _ in counter:
                started = time.perf_counter()
                response = await client.post("/v1/predict", json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    if set(statuses) != {200}:
        raise SystemExit(f"unexpected statuses on port {port}: {statuses}")
    return {
        "rps": requests / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"inputs": ["%s"]}'
wrk.headers["Content-Type"] = "application/json"
%s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads), from /proc/PID/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_wrk(
    port: int,
    headers: dict[str, str],
    seconds: int,
    concurrency: int,
    cpu: int | None,
    work: Path,
    pid: int,
) -> dict[str, float]:
    """One wrk run; requests/s, latency percentiles and the server's CPU per request."""
    header_lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    script = work / f"wrk-{port}.lua"
    script.write_text(WRK_SCRIPT % (TEXT, header_lines))
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    cpu_before = process_cpu_seconds(pid)
    command = [*pin, "wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s"]
    done = subprocess.run(
        [*command, "-s", str(script), f"http://127.0.0.1:{port}/v1/predict"],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu_used = process_cpu_seconds(pid) - cpu_before
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+)", done.stdout)
    if match is None:
        raise SystemExit(f"could not read wrk output: {done.stdout[-400:]}")
    requests, duration_us, p50_us, p99_us, errors = (int(g) for g in match.groups())
    if errors:
        raise SystemExit(f"wrk saw {errors} errors or non-2xx answers on port {port}")
    return {
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50_us / 1000,
        "p99_ms": p99_us / 1000,
        "cpu_us": cpu_used / max(1, requests) * 1e6,
    }


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat (0, 0 elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0, 0
    values = [int(value) for value in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument(
        "--client",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator (wrk: Debian package, pinned to its own core)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="wrk: duration of each run")
    parser.add_argument(
        "--only",
        default="bare,bastion,guards",
        help="comma-separated subset of the servers to run (bare is always included)",
    )
    args = parser.parse_args()
    pinned = args.client == "wrk" and (os.cpu_count() or 1) >= 2 and shutil.which("taskset")
    server_cpu, client_cpu = (1, 0) if pinned else (None, None)

    work = Path(tempfile.mkdtemp(prefix="bastion-bench-"))
    (work / "bare_app.py").write_text(BARE_APP)
    home = work / "home"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from bastion.core.settings import load_settings
    from bastion.secrets import keyring_from_settings
    from bastion.serving import key_store_from_settings

    settings = load_settings(home=home)
    keyring_from_settings(settings).init()
    key = key_store_from_settings(settings).create("bench", ["predict"]).plaintext
    base_env = {
        **os.environ,
        "BASTION_HOME": str(home),
        "BASTION_SERVING__RATE_LIMITS_PRINCIPAL": json.dumps(["1000000/minute"]),
        "BASTION_SERVING__RATE_LIMITS_ADDRESS": json.dumps(["1000000/minute"]),
        "BASTION_LOG_LEVEL": "WARNING",
    }
    targets = {
        "bare": ("bare_app:app", dict(os.environ), {}),
        "bastion": ("bastion.serving.server:app_factory", base_env, {"X-API-Key": key}),
        "guards": (
            "bastion.serving.server:app_factory",
            {**base_env, "BASTION_SERVING__GUARD_POLICY": "default"},
            {"X-API-Key": key},
        ),
    }
    wanted = {"bare", *args.only.split(",")}
    targets = {name: spec for name, spec in targets.items() if name in wanted}
    servers = {}
    try:
        for name, (target, env, _headers) in targets.items():
            port = free_port()
            servers[name] = (start(target, port, env, work, server_cpu), port)
        for _process, port in servers.values():
            wait_ready(port)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for name, (_process, port) in servers.items():
            asyncio.run(load(port, targets[name][2], args.warmup, args.concurrency))
        load_before = os.getloadavg()
        busy_before, total_before = cpu_times()
        names = list(servers)
        for round_index in range(args.rounds):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                port = servers[name][1]
                headers = targets[name][2]
                if args.client == "wrk":
                    run = load_wrk(
                        port,
                        headers,
                        args.seconds,
                        args.concurrency,
                        client_cpu,
                        work,
                        servers[name][0].pid,
                    )
                else:
                    run = asyncio.run(load(port, headers, args.requests, args.concurrency))
                results[name].append(run)
        busy_after, total_after = cpu_times()
        load_after = os.getloadavg()
    finally:
        for process, _port in servers.values():
            process.terminate()
        for process, _port in servers.values():
            process.wait(timeout=30)

    summary = {
        name: {metric: statistics.median(run[metric] for run in runs) for metric in runs[0]}
        for name, runs in results.items()
    }
    size = f"{args.seconds}s per run" if args.client == "wrk" else f"requests={args.requests}"
    placement = (
        "server pinned to CPU 1, wrk to CPU 0"
        if pinned
        else f"{os.cpu_count()} cores shared with the load generator"
    )
    print(
        f"client={args.client} {size} concurrency={args.concurrency} rounds={args.rounds} "
        f"(medians; loopback; {placement})"
    )
    cpu = (busy_after - busy_before) / max(1, total_after - total_before)
    print(
        f"load average 1/5/15 min before: {' '.join(f'{v:.2f}' for v in load_before)}; "
        f"after: {' '.join(f'{v:.2f}' for v in load_after)}; "
        f"all-CPU busy during the rounds: {cpu:.0%}"
    )
    print(
        f"{'server':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'vs bare':>10}"
        f"{'CPU us/req':>12}{'CPU vs bare':>13}"
    )
    for name, row in summary.items():
        ratio = row["rps"] / summary["bare"]["rps"]
        cpu_us = row.get("cpu_us", float("nan"))
        cpu_ratio = summary["bare"].get("cpu_us", float("nan")) / cpu_us
        print(
            f"{name:<10}{row['rps']:>10.0f}{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}{ratio:>10.0%}"
            f"{cpu_us:>12.0f}{cpu_ratio:>13.0%}"
        )


if __name__ == "__main__":
    main()

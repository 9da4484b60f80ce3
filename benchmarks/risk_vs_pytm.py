"""Threat modelling at scale: Bastion's rule engine vs OWASP pytm on the same generated model.

A seeded generator builds one system (default 500 elements, 2,000 flows, 10 trust
boundaries) and expresses it twice: as a Bastion ``system.yaml`` and as a pytm
model with equivalent element kinds, boundaries, protocols, encryption,
authentication and data classifications.  Each tool runs ``--repeats`` times;
we report the median time, the number of threats found and, for Bastion,
whether every run produced byte-identical register and report files.

    .venv/bin/python benchmarks/risk_vs_pytm.py [--elements 500] [--flows 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

KINDS = [
    ("actor", 0.06),
    ("external_entity", 0.04),
    ("process", 0.30),
    ("data_store", 0.16),
    ("dataset", 0.08),
    ("feature_store", 0.04),
    ("model", 0.08),
    ("inference_endpoint", 0.10),
    ("llm", 0.05),
    ("agent", 0.03),
    ("third_party_model_api", 0.06),
]
DATA = ["phi", "pii", "deidentified", "credentials", "model_weights", "internal", "public"]
PROTOCOLS = ["https", "https", "https", "mtls", "http", "grpc", "postgresql+tls", "postgresql"]
AUTH = ["oauth2", "api_key", "mtls", "service_account", "none"]


def generate(elements: int, flows: int, seed: int = 7) -> dict[str, Any]:
    """A deterministic random system model (plain data, Bastion's schema)."""
    rng = random.Random(seed)
    boundaries = [
        {
            "id": f"b{i}",
            "name": f"Zone {i}",
            "trust": rng.choice(["trusted", "restricted", "untrusted", "third_party"]),
        }
        for i in range(10)
    ]
    kinds, weights = zip(*KINDS, strict=True)
    nodes = []
    for i in range(elements):
        kind = rng.choices(kinds, weights)[0]
        node: dict[str, Any] = {
            "id": f"e{i}",
            "type": kind,
            "name": f"{kind} {i}",
            "boundary": f"b{rng.randrange(10)}",
        }
        if kind in ("data_store", "dataset", "feature_store"):
            node["data"] = rng.sample(DATA, 2)
        if kind in ("model", "inference_endpoint", "llm"):
            node["properties"] = {
                "trained_on": rng.sample(["phi", "pii", "deidentified", "public"], 1)
            }
        nodes.append(node)
    edges = []
    for i in range(flows):
        source, target = rng.sample(range(elements), 2)
        edges.append(
            {
                "id": f"f{i}",
                "name": f"flow {i}",
                "from": f"e{source}",
                "to": f"e{target}",
                "data": rng.sample(DATA, rng.randint(1, 2)),
                "protocol": rng.choice(PROTOCOLS),
                "authentication": rng.choice(AUTH),
            }
        )
    return {
        "system": {
            "name": "Generated system",
            "description": f"{elements} elements, {flows} flows",
        },
        "boundaries": boundaries,
        "elements": nodes,
        "flows": edges,
    }


def run_bastion(model_path: Path, out: Path) -> tuple[float, float, int, int, str]:
    """(assess seconds, report seconds, active threats, suppressed, digest of outputs)."""
    from bastion.risk import assess
    from bastion.risk.report import render_all

    start = time.perf_counter()
    result = assess(model_path, as_of="2026-01-01T00:00:00.000000Z")
    assessed = time.perf_counter() - start
    start = time.perf_counter()
    files = render_all(result)
    rendered = time.perf_counter() - start
    digest = hashlib.sha256(b"".join(files[name] for name in sorted(files))).hexdigest()
    return assessed, rendered, len(result.active), len(result.suppressed), digest


def run_pytm(model: dict[str, Any]) -> tuple[float, int, Counter[str]]:
    """Build the equivalent pytm model and resolve threats; (seconds, findings, by element kind)."""
    from pytm import TM, Actor, Boundary, Classification, Data, Dataflow, Datastore, Process, Server

    TM.reset()
    start = time.perf_counter()
    tm = TM("Generated system")
    tm.description = "generated"
    boundaries = {b["id"]: Boundary(b["name"]) for b in model["boundaries"]}
    level = {
        "phi": Classification.SECRET,
        "pii": Classification.SECRET,
        "credentials": Classification.TOP_SECRET,
        "model_weights": Classification.RESTRICTED,
        "deidentified": Classification.SENSITIVE,
        "internal": Classification.RESTRICTED,
        "public": Classification.PUBLIC,
    }
    data = {name: Data(name, classification=cls) for name, cls in level.items()}
    elements: dict[str, Any] = {}
    for node in model["elements"]:
        kind = node["type"]
        if kind in ("actor", "external_entity"):
            element: Any = Actor(node["name"])
        elif kind in ("data_store", "dataset", "feature_store", "model"):
            element = Datastore(node["name"])
            element.storesSensitiveData = any(
                d in ("phi", "pii", "credentials") for d in node.get("data", [])
            )
        elif kind in ("inference_endpoint", "third_party_model_api"):
            element = Server(node["name"])
        else:
            element = Process(node["name"])
        element.inBoundary = boundaries[node["boundary"]]
        elements[node["id"]] = element
    for edge in model["flows"]:
        flow = Dataflow(elements[edge["from"]], elements[edge["to"]], edge["name"])
        flow.protocol = edge["protocol"].upper()
        flow.isEncrypted = edge["protocol"] in ("https", "mtls", "postgresql+tls")
        flow.authenticatedWith = edge["authentication"] != "none"
        flow.data = [data[d] for d in edge["data"]]
    tm.resolve()
    elapsed = time.perf_counter() - start
    by_kind: Counter[str] = Counter(type(f.element).__name__ for f in tm.findings)
    return elapsed, len(tm.findings), by_kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=500)
    parser.add_argument("--flows", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    model = generate(args.elements, args.flows)
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "system.yaml"
        path.write_text(yaml.safe_dump(model, sort_keys=False), encoding="utf-8")
        bastion_runs = [run_bastion(path, Path(workdir)) for _ in range(args.repeats)]
    pytm_runs = [run_pytm(model) for _ in range(args.repeats)]
    digests = {run[4] for run in bastion_runs}
    targets = args.elements + args.flows
    assess_median = statistics.median(r[0] for r in bastion_runs)
    render_median = statistics.median(r[1] for r in bastion_runs)
    pytm_median = statistics.median(r[0] for r in pytm_runs)
    print(
        f"model: {args.elements} elements, {args.flows} flows, 10 boundaries; "
        f"{args.repeats} repeats; medians"
    )
    print(f"{'tool':<34}{'seconds':>10}{'threats':>10}")
    print(f"{'bastion assess (rules+register)':<34}{assess_median:>10.2f}{bastion_runs[0][2]:>10}")
    print(f"{'bastion reports (md/html/png/...)':<34}{render_median:>10.2f}{'':>10}")
    print(f"{'pytm resolve':<34}{pytm_median:>10.2f}{pytm_runs[0][1]:>10}")
    print(f"bastion suppressed by controls/assumptions: {bastion_runs[0][3]}")
    print(f"bastion outputs byte-identical across runs: {len(digests) == 1}")
    print(f"pytm findings identical count across runs: {len({r[1] for r in pytm_runs}) == 1}")
    print(f"pytm findings by element class: {dict(sorted(pytm_runs[0][2].items()))}")
    print(
        f"threats per element+flow: bastion {bastion_runs[0][2] / targets:.1f}, "
        f"pytm {pytm_runs[0][1] / targets:.1f}"
    )
    print(f"time ratio pytm/bastion-assess: {pytm_median / assess_median:.2f}")
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())

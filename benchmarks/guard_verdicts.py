"""Record every verdict of the default chains on a fixed corpus, and compare two recordings.

A speed change to the guards must not change a single decision.  This script
scans a deterministic corpus (the guard evaluation set, the deepset training
prompts, the bundled extra examples, the latency texts at several sizes and
long concatenations that exercise the classifier's windowing) with the default
input and output chains and with every guard on its own, and writes one JSON
line per text: actions, reason codes, scores rounded to 1e-9, spans and
rewritten texts.  The privacy engine's raw output is recorded separately, so a
PII difference caused by a concurrent change to the engine can be told apart
from one caused by the guard.

    .venv/bin/python benchmarks/guard_verdicts.py record /tmp/before.jsonl
    .venv/bin/python benchmarks/guard_verdicts.py compare /tmp/before.jsonl /tmp/after.jsonl
"""

from __future__ import annotations

import argparse
import base64
import codecs
import json
import random
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from guard_accuracy import DEEPSET, EVAL, EXTRA, context_of  # noqa: E402
from guard_latency import PROMPT, RESPONSE, sized  # noqa: E402

from bastion.guards import ChainVerdict, ScanContext, Verdict, load_chain  # noqa: E402


def corpus() -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(id, text, eval row or None) in a fixed order."""
    rows = [json.loads(line) for line in EVAL.read_text("utf-8").splitlines() if line.strip()]
    for row in rows:
        yield row["id"], row["text"], row
    extra = [json.loads(line)["text"] for line in EXTRA.read_text("utf-8").splitlines() if line]
    for i, text in enumerate(extra):
        yield f"extra-{i}", text, None
    deepset: list[str] = []
    if DEEPSET.is_file():
        import pandas as pd

        deepset = [str(t) for t in pd.read_parquet(DEEPSET)["text"]]
    for i, text in enumerate(deepset):
        yield f"deepset-{i}", text, None
    for size in (50, 200, 500, 1024, 2048, 4096, 8192):
        yield f"prompt-{size}", sized(PROMPT, size), None
        yield f"response-{size}", sized(RESPONSE, size), None
    # Long texts (several classifier windows) mixing attacks and benign prompts.
    pool = [r["text"] for r in rows] + extra + deepset
    rng = random.Random(20240601)
    for i in range(120):
        parts = rng.sample(pool, rng.randint(3, 30))
        yield f"long-{i}", rng.choice([" ", "\n", "\n\n"]).join(parts), None
    # Encoded, obfuscated and non-ASCII variants exercise the decoders and the slow paths
    # that case twins (İ ı K ſ) and other non-ASCII text take.
    variants = {
        "rot13": lambda t: codecs.encode(t, "rot13"),
        "base64": lambda t: "Decode: " + base64.b64encode(t.encode()).decode(),
        "hex": lambda t: "hex " + t.encode().hex(),
        "leet": lambda t: t.translate(str.maketrans("oieast", "013457")),
        "homoglyph": lambda t: t.translate(str.maketrans({"a": "а", "e": "е", "o": "о"})),
        "upper": str.upper,
        "twins": lambda t: t.replace("i", "ı").replace("s", "ſ"),
        "dotted": lambda t: t.replace("I", "İ").replace("k", "\u212a"),
        "zero-width": lambda t: "\u200b".join(t.split(" ")),
        "umlaut": lambda t: t + " Grüße, schöne Straße, Übergröße.",
    }
    for i, text in enumerate(rng.sample(pool, 80)):
        for name, make in variants.items():
            yield f"variant-{name}-{i}", make(text), None
    for i in range(40):
        benign = sized(rng.choice([PROMPT, RESPONSE]), rng.choice([1500, 2048, 3000]))
        attack = rng.choice(pool)
        cut = rng.randint(0, len(benign))
        yield f"embedded-{i}", benign[:cut] + " " + attack + " " + benign[cut:], None


def verdict_data(v: Verdict) -> dict[str, Any]:
    return {
        "guard": v.guard,
        "action": v.action.value,
        "reasons": list(v.reasons),
        "scores": {k: round(s, 9) for k, s in sorted(v.scores.items())},
        "spans": [[s.start, s.end, s.entity_type, round(s.score, 9)] for s in v.spans],
        "text": v.text,
    }


def chain_data(c: ChainVerdict) -> dict[str, Any]:
    return {
        "action": c.action.value,
        "reasons": list(c.reasons),
        "text": c.text,
        "verdicts": [verdict_data(v) for v in c.verdicts],
    }


def record(path: Path) -> int:
    chain = load_chain()
    engine = next(g for g in chain.output_guards if g.kind == "pii")._engine  # type: ignore[attr-defined]
    with path.open("w", encoding="utf-8") as out:
        for ident, text, row in corpus():
            contexts = {
                "input": context_of(row) if row and row["direction"] == "input" else None,
                "output": context_of(row) if row and row["direction"] == "output" else None,
            }
            ctx_in = contexts["input"] or ScanContext(direction="input")
            ctx_out = contexts["output"] or ScanContext(direction="output")
            entry: dict[str, Any] = {
                "id": ident,
                "input": chain_data(chain.scan_input(text, ctx_in)),
                "output": chain_data(chain.scan_output(text, ctx_out)),
                "guards": {},
                "engine": [
                    [s.start, s.end, s.entity_type, round(s.score, 9)] for s in engine.analyze(text)
                ],
            }
            for direction, guards, ctx in (
                ("input", chain.input_guards, ctx_in),
                ("output", chain.output_guards, ctx_out),
            ):
                for guard in guards:
                    try:
                        data = verdict_data(guard.scan(text, ctx))
                    except Exception as exc:  # recorded: an error is a verdict too
                        data = {"error": type(exc).__name__}
                    entry["guards"][f"{direction}/{guard.name}"] = data
            out.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
    return 0


def compare(before: Path, after: Path) -> int:
    old = [json.loads(line) for line in before.read_text("utf-8").splitlines()]
    new = [json.loads(line) for line in after.read_text("utf-8").splitlines()]
    if [e["id"] for e in old] != [e["id"] for e in new]:
        print("the two recordings cover different corpora")
        return 2
    diffs: Counter[str] = Counter()
    engine_changed = 0
    shown = 0
    for a, b in zip(old, new, strict=True):
        engine_differs = a["engine"] != b["engine"]
        engine_changed += engine_differs
        keys = ["input", "output", *sorted(set(a["guards"]) | set(b["guards"]))]
        for key in keys:
            va = a.get(key) or a["guards"].get(key)
            vb = b.get(key) or b["guards"].get(key)
            if va == vb:
                continue
            pii_related = engine_differs and ("pii" in key or key == "output")
            label = f"{key}{' (privacy engine output changed too)' if pii_related else ''}"
            diffs[label] += 1
            if shown < 20 and not pii_related:
                shown += 1
                print(f"DIFF {a['id']} {key}:")
                print(f"  before {json.dumps(va)[:600]}\n  after  {json.dumps(vb)[:600]}")
    print(f"{len(old)} texts; privacy engine output changed on {engine_changed}")
    for label, count in sorted(diffs.items()):
        print(f"  {count:5d} differ: {label}")
    own = sum(c for label, c in diffs.items() if "privacy engine" not in label)
    print("IDENTICAL (apart from privacy-engine changes)" if own == 0 else f"{own} DIFFERENCES")
    return 0 if own == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("path", type=Path)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "record":
        return record(args.path)
    return compare(args.before, args.after)


if __name__ == "__main__":
    raise SystemExit(main())

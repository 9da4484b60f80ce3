"""Detection rate, false-positive rate, precision and F1 of every guard and of the default chain.

Data: ``benchmarks/data/guard_eval.jsonl``, the project's own labelled set (attacks
in English and German, plain and encoded; benign look-alikes), disjoint from the
classifier's training data (checked at start).  Each row names the guard that
should (label 1) or should not (label 0) trigger.

    .venv/bin/python benchmarks/guard_accuracy.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bastion.guards import Guard, ScanContext, load_chain  # noqa: E402
from bastion.guards.injection.guard import PromptInjectionGuard  # noqa: E402

EVAL = ROOT / "benchmarks" / "data" / "guard_eval.jsonl"
EXTRA = ROOT / "src" / "bastion" / "guards" / "data" / "injection_extra_examples.jsonl"
DEEPSET = (
    ROOT.parent / "shared" / "data" / "prompt-injection" / "deepset-prompt-injections-train.parquet"
)


def context_of(row: dict[str, Any]) -> ScanContext:
    ctx = row.get("context", {})
    return ScanContext(
        direction=row["direction"],
        fields=ctx.get("fields", {}),
        system_prompt=ctx.get("system_prompt"),
        canaries=tuple(ctx.get("canaries", ())),
        json_schema=ctx.get("json_schema"),
    )


def summarise(pairs: list[tuple[int, bool]]) -> dict[str, float]:
    tp = sum(1 for y, p in pairs if y and p)
    fn = sum(1 for y, p in pairs if y and not p)
    fp = sum(1 for y, p in pairs if not y and p)
    tn = sum(1 for y, p in pairs if not y and not p)
    recall = tp / (tp + fn) if tp + fn else float("nan")
    precision = tp / (tp + fp) if tp + fp else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {
        "n": len(pairs),
        "pos": tp + fn,
        "neg": fp + tn,
        "detection_rate": recall,
        "fpr": fp / (fp + tn) if fp + tn else float("nan"),
        "precision": precision,
        "f1": f1,
    }


def check_disjoint(rows: list[dict[str, Any]]) -> int:
    seen = {
        json.loads(line)["text"].strip().lower()
        for line in EXTRA.read_text("utf-8").splitlines()
        if line
    }
    if DEEPSET.is_file():
        import pandas as pd

        seen |= set(pd.read_parquet(DEEPSET)["text"].str.strip().str.lower())
    return sum(1 for r in rows if r["text"].strip().lower() in seen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args()
    rows = [json.loads(line) for line in EVAL.read_text("utf-8").splitlines() if line.strip()]
    overlap = check_disjoint(rows)
    chain = load_chain()
    guards: dict[tuple[str, str], Guard] = {}
    for guard in chain.input_guards:
        guards[("input", guard.kind)] = guard
    for guard in chain.output_guards:
        guards[("output", guard.kind)] = guard
    variants: dict[str, Callable[[str, ScanContext], bool]] = {
        "prompt-injection: heuristics only, no decoding": (
            lambda t, c, g=PromptInjectionGuard(use_classifier=False, max_decode_depth=0): (
                g.scan(t, c).triggered
            )
        ),
        "prompt-injection: classifier only": (
            lambda t, c, g=PromptInjectionGuard(max_decode_depth=0): (
                g.classifier is not None and g.classifier.probability(t) >= g.threshold
            )
        ),
    }
    per_guard: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    per_variant: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    ablation: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    chain_pairs: list[tuple[int, bool]] = []
    misses: list[str] = []
    for row in rows:
        ctx = context_of(row)
        guard = guards[(row["direction"], row["guard"])]
        hit = guard.scan(row["text"], ctx).triggered
        per_guard[row["guard"]].append((row["label"], hit))
        if row["guard"] == "prompt-injection":
            per_variant[f"{row['variant']} ({row['lang']})"].append((row["label"], hit))
            for name, run in variants.items():
                ablation[name].append((row["label"], run(row["text"], ctx)))
        verdict = chain.scan(row["text"], row["direction"], ctx)
        chain_pairs.append((row["label"], verdict.action.value != "allow"))
        if hit != bool(row["label"]):
            misses.append(f"{'FN' if row['label'] else 'FP'} {row['guard']}: {row['text'][:90]!r}")
    results = {
        "rows": len(rows),
        "overlap_with_training_data": overlap,
        "per_guard": {name: summarise(pairs) for name, pairs in sorted(per_guard.items())},
        "chain": summarise(chain_pairs),
        "prompt_injection_by_variant": {k: summarise(v) for k, v in sorted(per_variant.items())},
        "prompt_injection_ablation": {k: summarise(v) for k, v in ablation.items()},
        "errors": misses,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"eval rows: {len(rows)}; rows also in training data: {overlap}")
    header = f"{'guard':<48} {'n':>4} {'pos':>4} {'det.rate':>8} {'FPR':>6} {'prec':>6} {'F1':>6}"
    print(header)
    print("-" * len(header))

    def line(name: str, m: dict[str, float]) -> None:
        print(
            f"{name:<48} {m['n']:>4} {m['pos']:>4} {m['detection_rate']:>8.3f} {m['fpr']:>6.3f} "
            f"{m['precision']:>6.3f} {m['f1']:>6.3f}"
        )

    for name, m in results["per_guard"].items():
        line(name, m)
    line("FULL DEFAULT CHAIN (any non-allow)", results["chain"])
    print()
    for name, m in results["prompt_injection_ablation"].items():
        line(name, m)
    print("\nprompt-injection by variant (detection rate for attacks, FPR for benign):")
    for name, m in results["prompt_injection_by_variant"].items():
        rate = m["detection_rate"] if m["pos"] else m["fpr"]
        label = "det" if m["pos"] else "FPR"
        print(f"  {name:<32} n={m['n']:>3}  {label}={rate:.3f}")
    print("\nerrors:")
    for miss in misses:
        print("  " + miss)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

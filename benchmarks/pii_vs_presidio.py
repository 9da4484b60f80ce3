"""Bastion's PII detector vs Presidio (offline, blank spaCy pipeline) vs scrubadub.

Each tool runs in its own subprocess (fair peak-memory numbers): start-up is timed,
then ``--repeats`` passes over the same corpus; the median pass gives docs/s and MB/s.
Accuracy uses the same corpus and the same scorer (IoU >= 0.5) for every tool.

    .venv/bin/python benchmarks/pii_vs_presidio.py --n 1000 --seed 99

Needs ``pip install 'bastion[bench]'`` (presidio-analyzer, scrubadub). Presidio's default
start downloads a spaCy model; here it gets a blank English pipeline saved to disk, so
only its regex/checksum recognizers run (no PERSON/LOCATION): that is the best
Presidio can do offline without a model, which is exactly the situation benchmarked.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = ("bastion", "presidio", "scrubadub")
PRESIDIO_TYPES = {"US_BANK_NUMBER": "ACCOUNT_NUMBER", "MEDICAL_LICENSE": "LICENSE_NUMBER"}
SCRUBADUB_TYPES = {
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "url": "URL",
    "credit_card": "CREDIT_CARD",
    "social_security_number": "US_SSN",
    "drivers_licence": "US_DRIVER_LICENSE",
    "postalcode": "ZIP_CODE",
    "vehicle_licence_plate": "VEHICLE_ID",
    "name": "PERSON",
    "address": "STREET_ADDRESS",
    "date_of_birth": "DATE_TIME",
    "tax_reference_number": "US_ITIN",
}
#: Applied to gold and predictions alike: Bastion-only distinctions do not count against others.
SHARED_ALIASES = {"DATE_OF_BIRTH": "DATE_TIME", "FAX_NUMBER": "PHONE_NUMBER"}


def _make_predictor(tool: str, workdir: Path):  # type: ignore[no-untyped-def]
    if tool == "bastion":
        from bastion.privacy.detect import default_engine

        engine = default_engine()  # builds the hyperscan prefilter when installed
        engine.analyze("warm up John Smith 555-201-3344")  # loads the word lists
        prefilter = getattr(engine, "prefilter", None)  # absent in engines before it
        active = prefilter is not None and prefilter().active
        print(f"bastion hyperscan prefilter active: {active}", file=sys.stderr)
        return lambda text: [(s.start, s.end, s.entity_type) for s in engine.analyze(text)]
    if tool == "presidio":
        import spacy
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        model = workdir / "blank_en"
        if not model.exists():
            spacy.blank("en").to_disk(model)
        provider = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": str(model)}],
            }
        )
        analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])

        def presidio(text: str) -> list[tuple[int, int, str]]:
            results = analyzer.analyze(text=text, language="en")
            return [
                (r.start, r.end, PRESIDIO_TYPES.get(r.entity_type, r.entity_type)) for r in results
            ]

        return presidio
    import scrubadub

    scrubber = scrubadub.Scrubber()

    def scrub(text: str) -> list[tuple[int, int, str]]:
        out = []
        for filth in scrubber.iter_filth(text):
            parts = getattr(filth, "filths", None) or [filth]
            for f in parts:
                out.append((f.beg, f.end, SCRUBADUB_TYPES.get(f.type, f.type.upper())))
        return out

    return scrub


def worker(tool: str, corpus: Path, out: Path, repeats: int) -> None:
    """Run inside the subprocess: time start-up and passes, record spans and peak RSS."""
    texts = [json.loads(line)["text"] for line in corpus.read_text("utf-8").splitlines() if line]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        predict = _make_predictor(tool, Path(tmp))
        startup = time.perf_counter() - started
        passes, cpu_passes = [], []
        predictions: list[list[tuple[int, int, str]]] = []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            predictions = [predict(t) for t in texts]
            passes.append(time.perf_counter() - t0)
            cpu_passes.append(time.process_time() - c0)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.write_text(
        json.dumps(
            {
                "tool": tool,
                "startup_s": startup,
                "passes_s": passes,
                "cpu_passes_s": cpu_passes,
                "peak_rss_mib": rss_kib / 1024,
                "predictions": predictions,
            }
        )
    )


def _concatenate(docs, k):  # type: ignore[no-untyped-def]
    """Join every ``k`` documents with newlines, shifting gold offsets."""
    from bastion.privacy.evaluate import GoldSpan, LabelledDoc

    joined = []
    for i in range(0, len(docs), k):
        text, spans = "", []
        for doc in docs[i : i + k]:
            if text:
                text += "\n"
            offset = len(text)
            spans.extend(GoldSpan(g.start + offset, g.end + offset, g.type) for g in doc.spans)
            text += doc.text
        joined.append(LabelledDoc(text, tuple(spans)))
    return joined


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, help="JSONL corpus (default: generate one)")
    parser.add_argument("--n", type=int, default=1000, help="documents to generate")
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--split", default="holdout", help="generator template split")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--concat", type=int, default=1, help="join every K documents into one (longer texts)"
    )
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the tools' workers this many times, alternating, and report medians "
        "(load from other jobs then hits every tool alike)",
    )
    parser.add_argument("--json", type=Path, help="also write the full results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.corpus, args.out, args.repeats)
        return

    from bastion.privacy.corpus import generate, write_jsonl
    from bastion.privacy.detect.span import Span
    from bastion.privacy.evaluate import evaluate, load_corpus

    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        if corpus is None:
            corpus = Path(tmp) / "corpus.jsonl"
            write_jsonl(corpus, generate(args.n, seed=args.seed, split=args.split))
        docs = load_corpus(corpus)
        if args.concat > 1:
            docs = _concatenate(docs, args.concat)
            corpus = Path(tmp) / "joined.jsonl"
            corpus.write_text(
                "".join(json.dumps({"text": d.text}) + "\n" for d in docs), encoding="utf-8"
            )
        size_mb = sum(len(d.text.encode("utf-8")) for d in docs) / 1e6
        print(
            f"corpus: {len(docs)} documents, {size_mb:.2f} MB "
            f"({corpus if args.corpus else 'generated'})"
        )
        results: dict[str, dict] = {}  # type: ignore[type-arg]
        rounds: dict[str, list[float]] = {}  # per tool: median CPU-s per pass, each round
        for _ in range(max(1, args.rounds)):
            for tool in args.tools.split(","):
                out = Path(tmp) / f"{tool}.json"
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--worker",
                        tool,
                        "--corpus",
                        str(corpus),
                        "--out",
                        str(out),
                        "--repeats",
                        str(args.repeats),
                    ],
                    check=True,
                )
                res = json.loads(out.read_text())
                rounds.setdefault(tool, []).append(statistics.median(res["cpu_passes_s"]))
                if tool in results:  # keep the first round's predictions; pool timings
                    for key in ("passes_s", "cpu_passes_s"):
                        results[tool][key] += res[key]
                    results[tool]["startup_s"] = min(results[tool]["startup_s"], res["startup_s"])
                else:
                    results[tool] = res

    summary: dict[str, dict[str, object]] = {}
    for tool, res in results.items():
        preds = iter(res["predictions"])

        def predict(_text: str, _preds=preds) -> list[Span]:  # type: ignore[no-untyped-def]
            return [Span(s, e, t, 1.0) for s, e, t in next(_preds) if e > s]

        report = evaluate(docs, predict, aliases=SHARED_ALIASES)
        median = statistics.median(res["passes_s"])
        cpu_median = statistics.median(res["cpu_passes_s"])
        summary[tool] = {
            "startup_s": round(res["startup_s"], 3),
            "docs_per_s": round(len(docs) / median, 1),
            "mb_per_s": round(size_mb / median, 3),
            "docs_per_cpu_s": round(len(docs) / cpu_median, 1),
            "mb_per_cpu_s": round(size_mb / cpu_median, 3),
            "peak_rss_mib": round(res["peak_rss_mib"], 1),
            "overall": report.overall.as_dict(),
            "per_type": {t: s.as_dict() for t, s in sorted(report.overlap.items())},
        }

    base = summary.get("bastion")
    print(
        f"\n{'tool':10} {'start s':>8} {'docs/s':>9} {'MB/s':>7} {'docs/cpu-s':>11} "
        f"{'MB/cpu-s':>9} {'peak MiB':>9} {'P':>6} {'R':>6} {'F2':>6}"
    )
    for tool, s in summary.items():
        o = s["overall"]
        print(
            f"{tool:10} {s['startup_s']:>8} {s['docs_per_s']:>9} {s['mb_per_s']:>7} "
            f"{s['docs_per_cpu_s']:>11} {s['mb_per_cpu_s']:>9} {s['peak_rss_mib']:>9} "
            f"{o['precision']:>6} {o['recall']:>6} {o['f2']:>6}"
        )  # type: ignore[index]
    if base:
        for tool, s in summary.items():
            if tool != "bastion":
                wall = float(base["docs_per_s"]) / float(s["docs_per_s"])  # type: ignore[arg-type]
                base_cpu = float(base["docs_per_cpu_s"])  # type: ignore[arg-type]
                cpu = base_cpu / float(s["docs_per_cpu_s"])  # type: ignore[arg-type]
                print(f"throughput bastion / {tool}: {wall:.1f}x wall-clock, {cpu:.1f}x per CPU-s")
    if base and args.rounds > 1:
        for tool in summary:
            if tool != "bastion":
                ratios = [
                    b_cpu and o_cpu / b_cpu
                    for b_cpu, o_cpu in zip(rounds["bastion"], rounds[tool], strict=True)
                ]
                shown = ", ".join(f"{r:.1f}x" for r in ratios)
                print(
                    f"per-round CPU-s ratio bastion / {tool} (adjacent runs): {shown}; "
                    f"median {statistics.median(ratios):.1f}x"
                )
    types = sorted({t for s in summary.values() for t in s["per_type"]})  # type: ignore[union-attr]
    print("\nper-entity F2 (P/R) — '-' = tool reports nothing of that type")
    print(f"{'type':24}" + "".join(f"{tool:>22}" for tool in summary))
    for t in types:
        cells = []
        for s in summary.values():
            row = s["per_type"].get(t)  # type: ignore[union-attr]
            if row is None or row["tp"] + row["fp"] == 0:
                cells.append(f"{'-':>22}")
            else:
                cells.append(
                    f"{row['f2']:.3f} ({row['precision']:.2f}/{row['recall']:.2f})".rjust(22)
                )
        print(f"{t:24}" + "".join(cells))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

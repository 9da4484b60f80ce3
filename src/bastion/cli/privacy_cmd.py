"""``bastion privacy``: detect and de-identify PII/PHI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from bastion.cli.context import console, err_console
from bastion.cli.privacy_deid import deid
from bastion.core.errors import EXIT_FINDINGS, ValidationError

app = typer.Typer(help="Detect and de-identify PII/PHI in text and tables.", no_args_is_help=True)
app.command("deid")(deid)

#: Files larger than this are refused by ``scan`` (use ``deid`` for bulk data).
MAX_SCAN_BYTES = 64 * 1024 * 1024


def _split(value: str | None) -> list[str] | None:
    parts = [p.strip().upper() for p in (value or "").split(",") if p.strip()]
    return parts or None


def read_text_input(source: str) -> tuple[str, str]:
    """Text to scan and a label: ``-`` is stdin, an existing path is a file, else literal text."""
    if source == "-":
        data = sys.stdin.buffer.read()
        label = "<stdin>"
    else:
        path = Path(source)
        try:
            is_file = path.is_file()
        except OSError:
            is_file = False
        if not is_file:
            return source, "<argument>"
        label = str(path)
        if path.stat().st_size > MAX_SCAN_BYTES:
            raise ValidationError(
                f"file is larger than {MAX_SCAN_BYTES // 2**20} MiB; use "
                "'bastion privacy deid' for bulk data",
                file=label,
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValidationError(f"cannot read: {exc.strerror}", file=label) from exc
    if b"\x00" in data[:8192]:
        raise ValidationError(
            "looks like a binary file (NUL bytes); scan text files only", file=label
        )
    try:
        return data.decode("utf-8"), label
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValidationError(
            f"not valid UTF-8 at byte offset {exc.start}", file=label, line=line
        ) from exc


@app.command("scan")
def scan(
    source: str = typer.Argument(..., help="Text to scan, a UTF-8 file path, or '-' for stdin."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
    entities: str | None = typer.Option(None, "--entities", help="Comma-separated entity types."),
    threshold: float | None = typer.Option(
        None, "--threshold", min=0.0, max=1.0, help="Minimum score for every entity type."
    ),
    no_values: bool = typer.Option(False, "--no-values", help="Do not print the matched values."),
    recognizers: list[Path] = typer.Option(
        [], "--recognizers", help="YAML file of custom recognizers (repeatable)."
    ),
    limit: int = typer.Option(200, "--limit", min=1, help="Rows shown in the table."),
) -> None:
    """Find PII/PHI and explain each finding. Exit status 1 when anything is found."""
    from bastion.privacy.detect import EngineConfig, build_engine, default_engine

    text, label = read_text_input(source)
    if threshold is None and not recognizers:
        engine = default_engine()
    else:
        engine = build_engine(
            EngineConfig(
                default_threshold=0.5 if threshold is None else threshold,
                custom_recognizers=tuple(recognizers),
            )
        )
    spans = engine.analyze(text, _split(entities))
    if as_json:
        findings = []
        for s in spans:
            row: dict[str, object] = {
                "start": s.start,
                "end": s.end,
                "type": s.entity_type,
                "score": s.score,
                "recognizer": s.recognizer,
                "explanation": s.explanation,
            }
            if not no_values:
                row["value"] = text[s.start : s.end]
            findings.append(row)
        counts: dict[str, int] = {}
        for s in spans:
            counts[s.entity_type] = counts.get(s.entity_type, 0) + 1
        payload = {"source": label, "characters": len(text), "findings": findings, "counts": counts}
        typer.echo(json.dumps(payload, ensure_ascii=False))
    elif not spans:
        console.print(f"[green]no PII found[/green] in {label} ({len(text)} characters)")
    else:
        table = Table(title=f"{len(spans)} finding(s) in {label}")
        for column in ("offsets", "type", "score", *(() if no_values else ("value",)), "why"):
            table.add_column(column, overflow="fold")
        for s in spans[:limit]:
            value = () if no_values else (text[s.start : s.end][:80],)
            table.add_row(
                f"{s.start}-{s.end}", s.entity_type, f"{s.score:.2f}", *value, s.explanation
            )
        console.print(table)
        if len(spans) > limit:
            err_console.print(f"{len(spans) - limit} more not shown (use --limit or --json)")
    if spans:
        raise typer.Exit(EXIT_FINDINGS)


@app.command("eval")
def eval_corpus(
    corpus: Path = typer.Argument(..., help="JSONL corpus: {text, spans: [{start, end, type}]}."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
    iou: float = typer.Option(0.5, "--iou", min=0.01, max=1.0, help="Overlap needed for a match."),
    alias: list[str] = typer.Option(
        [], "--alias", help="Rename a predicted type, e.g. DATE_OF_BIRTH=DATE_TIME (repeatable)."
    ),
    show: int = typer.Option(10, "--show", min=0, help="Missed/spurious examples to list."),
    no_values: bool = typer.Option(False, "--no-values", help="Omit span text from the report."),
) -> None:
    """Precision, recall, F1 and F2 per entity type (IoU and exact match), plus mistakes."""
    from bastion.privacy.detect import default_engine
    from bastion.privacy.evaluate import evaluate, load_corpus

    aliases: dict[str, str] = {}
    for item in alias:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ValidationError(f"expected OLD=NEW, got {item!r}", field="--alias")
        aliases[source.strip().upper()] = target.strip().upper()
    docs = load_corpus(corpus)
    report = evaluate(docs, default_engine().analyze, threshold=iou, aliases=aliases)
    if as_json:
        typer.echo(
            json.dumps(report.to_dict(include_values=not no_values, limit=show), ensure_ascii=False)
        )
        return
    table = Table(title=f"{report.documents} documents — match by IoU ≥ {iou} (exact in brackets)")
    for column in ("type", "gold", "precision", "recall", "F1", "F2"):
        table.add_column(column, justify="left" if column == "type" else "right")
    rows = [(t, report.overlap[t], report.exact.get(t)) for t in sorted(report.overlap)]
    rows.append(("OVERALL", report.overall, report.overall_exact))
    for name, s, e in rows:
        exact = f" [{e.f2:.3f}]" if e is not None else ""
        table.add_row(
            name,
            str(s.tp + s.fn),
            f"{s.precision:.3f}",
            f"{s.recall:.3f}",
            f"{s.f1:.3f}",
            f"{s.f2:.3f}{exact}",
        )
    console.print(table)
    for title, items in (("missed", report.missed), ("spurious", report.spurious)):
        if items and show:
            console.print(f"[bold]{title}[/bold] ({len(items)}):")
            for m in items[:show]:
                value = "" if no_values else f" {m.text!r}"
                console.print(f"  doc {m.doc} [{m.start}:{m.end}] {m.type}{value}", markup=False)


@app.command("generate-corpus")
def generate_corpus(
    out: Path = typer.Option(..., "--out", help="JSONL file to write."),
    n: int = typer.Option(200, "--n", min=1, max=1_000_000, help="Number of documents."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same corpus)."),
    split: str = typer.Option("all", "--split", help="Template split: tune, holdout or all."),
) -> None:
    """Write a labelled synthetic corpus (clinical notes, tickets, chats, logs)."""
    from bastion.privacy.corpus import generate, write_jsonl
    from bastion.privacy.corpus.generator import SPLITS

    if split not in SPLITS:
        raise ValidationError(f"must be one of {', '.join(SPLITS)}", field="--split")
    count = write_jsonl(out, generate(n, seed=seed, split=split))
    console.print(f"wrote {count} documents to {out}")

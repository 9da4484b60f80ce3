"""Entity-level evaluation of a detector against a labelled JSONL corpus.

Corpus lines: ``{"text": str, "spans": [{"start": int, "end": int, "type": str}, ...]}``.
A prediction matches a gold span of the same type when their character IoU is at
least ``iou`` (default 0.5) — the *overlap* score — or when offsets are identical —
the *exact* score. Each gold span matches at most one prediction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bastion.core.errors import ValidationError
from bastion.privacy.detect.span import Span

Predictor = Callable[[str], Sequence[Span]]


@dataclass(frozen=True)
class GoldSpan:
    start: int
    end: int
    type: str


@dataclass(frozen=True)
class LabelledDoc:
    text: str
    spans: tuple[GoldSpan, ...]


@dataclass
class Scores:
    """Counts and the metrics derived from them."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    def f_beta(self, beta: float) -> float:
        p, r = self.precision, self.recall
        if p + r == 0:
            return 0.0
        b2 = beta * beta
        return (1 + b2) * p * r / (b2 * p + r)

    @property
    def f1(self) -> float:
        return self.f_beta(1.0)

    @property
    def f2(self) -> float:
        return self.f_beta(2.0)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "f2": round(self.f2, 4),
        }


@dataclass(frozen=True)
class Mistake:
    """A missed or spurious span, with the document index and the covered text."""

    doc: int
    start: int
    end: int
    type: str
    text: str


@dataclass
class Report:
    """Overlap (IoU) and exact scores per type and overall, plus the confusion report."""

    overlap: dict[str, Scores] = field(default_factory=dict)
    exact: dict[str, Scores] = field(default_factory=dict)
    missed: list[Mistake] = field(default_factory=list)
    spurious: list[Mistake] = field(default_factory=list)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    documents: int = 0

    @staticmethod
    def _total(table: Mapping[str, Scores]) -> Scores:
        total = Scores()
        for s in table.values():
            total.tp += s.tp
            total.fp += s.fp
            total.fn += s.fn
        return total

    @property
    def overall(self) -> Scores:
        return self._total(self.overlap)

    @property
    def overall_exact(self) -> Scores:
        return self._total(self.exact)

    def to_dict(self, *, include_values: bool = True, limit: int = 50) -> dict[str, object]:
        def mistakes(items: list[Mistake]) -> list[dict[str, object]]:
            out: list[dict[str, object]] = []
            for m in items[:limit]:
                row: dict[str, object] = {
                    "doc": m.doc,
                    "start": m.start,
                    "end": m.end,
                    "type": m.type,
                }
                if include_values:
                    row["text"] = m.text
                out.append(row)
            return out

        return {
            "documents": self.documents,
            "overall": self.overall.as_dict(),
            "overall_exact": self.overall_exact.as_dict(),
            "per_type": {t: self.overlap[t].as_dict() for t in sorted(self.overlap)},
            "per_type_exact": {t: self.exact[t].as_dict() for t in sorted(self.exact)},
            "confusions": [
                {"gold": g, "predicted": p, "count": n}
                for (g, p), n in self.confusions.most_common()
            ],
            "missed": mistakes(self.missed),
            "spurious": mistakes(self.spurious),
        }


def iou(a_start: int, a_end: int, b_start: int, b_end: int) -> float:
    """Character intersection over union of two half-open ranges."""
    inter = min(a_end, b_end) - max(a_start, b_start)
    if inter <= 0:
        return 0.0
    return inter / (max(a_end, b_end) - min(a_start, b_start))


def load_corpus(path: Path) -> list[LabelledDoc]:
    """Read and validate a JSONL corpus; errors name the line and field."""
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read corpus: {exc.strerror}", file=file) from exc
    docs: list[LabelledDoc] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValidationError(f"not UTF-8 at byte {exc.start}", file=file, line=number) from exc
        except json.JSONDecodeError as exc:
            raise ValidationError(f"invalid JSON: {exc.msg}", file=file, line=number) from exc
        docs.append(_document(item, file, number))
    if not docs:
        raise ValidationError("corpus has no documents", file=file)
    return docs


def _document(item: object, file: str, line: int) -> LabelledDoc:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise ValidationError(
            "expected an object with a string 'text'", file=file, line=line, field="text"
        )
    text: str = item["text"]
    spans = item.get("spans", [])
    if not isinstance(spans, list):
        raise ValidationError("'spans' must be a list", file=file, line=line, field="spans")
    gold: list[GoldSpan] = []
    for i, span in enumerate(spans):
        where = f"spans[{i}]"
        if not isinstance(span, dict):
            raise ValidationError("span must be an object", file=file, line=line, field=where)
        start, end, kind = span.get("start"), span.get("end"), span.get("type")
        if (
            not isinstance(start, int)
            or not isinstance(end, int)
            or not 0 <= start < end <= len(text)
        ):
            raise ValidationError(
                f"offsets must satisfy 0 <= start < end <= {len(text)}",
                file=file,
                line=line,
                field=where,
            )
        if not isinstance(kind, str) or not kind:
            raise ValidationError(
                "type must be a non-empty string", file=file, line=line, field=f"{where}.type"
            )
        gold.append(GoldSpan(start, end, kind))
    return LabelledDoc(text, tuple(gold))


def evaluate(
    docs: Iterable[LabelledDoc],
    predict: Predictor,
    *,
    threshold: float = 0.5,
    aliases: Mapping[str, str] | None = None,
    types: Iterable[str] | None = None,
) -> Report:
    """Score ``predict`` on ``docs``. ``aliases`` renames predicted types (e.g. DATE_OF_BIRTH →
    DATE_TIME) and, when ``types`` is given, only those gold and predicted types are counted."""
    aliases = dict(aliases or {})
    keep = frozenset(types) if types is not None else None
    report = Report()
    for index, doc in enumerate(docs):
        report.documents += 1
        predicted = [
            GoldSpan(s.start, s.end, aliases.get(s.entity_type, s.entity_type))
            for s in predict(doc.text)
        ]
        gold = [GoldSpan(g.start, g.end, aliases.get(g.type, g.type)) for g in doc.spans]
        if keep is not None:
            predicted = [p for p in predicted if p.type in keep]
            gold = [g for g in gold if g.type in keep]
        _score(report.overlap, gold, predicted, threshold, report, index, doc.text)
        _score(report.exact, gold, predicted, None, None, index, doc.text)
    return report


def _score(
    table: dict[str, Scores],
    gold: list[GoldSpan],
    predicted: list[GoldSpan],
    threshold: float | None,
    report: Report | None,
    index: int,
    text: str,
) -> None:
    pairs: list[tuple[float, int, int]] = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(predicted):
            if g.type != p.type:
                continue
            if threshold is None:
                if (g.start, g.end) == (p.start, p.end):
                    pairs.append((1.0, gi, pi))
            else:
                overlap = iou(g.start, g.end, p.start, p.end)
                if overlap >= threshold:
                    pairs.append((overlap, gi, pi))
    pairs.sort(reverse=True)
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    for _, gi, pi in pairs:
        if gi in used_gold or pi in used_pred:
            continue
        used_gold.add(gi)
        used_pred.add(pi)
        table.setdefault(gold[gi].type, Scores()).tp += 1
    for gi, g in enumerate(gold):
        if gi not in used_gold:
            table.setdefault(g.type, Scores()).fn += 1
            if report is not None:
                report.missed.append(Mistake(index, g.start, g.end, g.type, text[g.start : g.end]))
    for pi, p in enumerate(predicted):
        if pi not in used_pred:
            table.setdefault(p.type, Scores()).fp += 1
            if report is not None:
                report.spurious.append(
                    Mistake(index, p.start, p.end, p.type, text[p.start : p.end])
                )
                for g in gold:
                    if g.type != p.type and iou(g.start, g.end, p.start, p.end) >= 0.5:
                        report.confusions[(g.type, p.type)] += 1

"""Reports from an assessment: Markdown, self-contained HTML, JSON, CSV, DFD, heat maps, plans.

Every output is deterministic: sorted data, no clocks (the evidence time is an
input, ``as_of``), PNGs written without software or date metadata.  Reports are
written to a temporary directory and moved into place only when complete.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bastion.core.errors import ConfigError, ValidationError
from bastion.risk.assess import Assessment
from bastion.risk.register import dump_register

BANDS = ("critical", "high", "medium", "low")
# Graphviz layout time grows fast; beyond this many elements + flows only DOT text is written.
SVG_LIMIT = 400
_SHAPES = {
    "actor": ('["', '"]'),
    "external_entity": ('["', '"]'),
    "process": ('("', '")'),
    "data_store": ('[("', '")]'),
    "dataset": ('[("', '")]'),
    "feature_store": ('[("', '")]'),
    "model": ('[["', '"]]'),
    "inference_endpoint": ('(["', '"])'),
    "llm": ('{{"', '"}}'),
    "agent": ('{{"', '"}}'),
    "third_party_model_api": ('>"', '"]'),
}
_DOT_SHAPES = {
    "actor": "box",
    "external_entity": "box",
    "process": "ellipse",
    "data_store": "cylinder",
    "dataset": "cylinder",
    "feature_store": "cylinder",
    "model": "box3d",
    "inference_endpoint": "component",
    "llm": "hexagon",
    "agent": "hexagon",
    "third_party_model_api": "cds",
}


def _node_id(raw: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", raw)


def _label(text: str) -> str:
    return text.replace('"', "'")


def threat_counts(assessment: Assessment) -> Counter[str]:
    """Active threats per element or flow id."""
    return Counter(e["target"] for e in assessment.active)


def mermaid(assessment: Assessment) -> str:
    """Mermaid flowchart: trust boundaries as subgraphs, threat counts on every node and flow."""
    model = assessment.model
    counts = threat_counts(assessment)
    lines = ["flowchart LR"]

    def node(eid: str) -> str:
        element = model.elements[eid]
        left, right = _SHAPES[element.type]
        detail = f"{element.type} · {counts.get(eid, 0)} threats"
        label = f"{_label(element.name)}<br/><small>{detail}</small>"
        return f"{_node_id(eid)}{left}{label}{right}"

    for bid in sorted(model.boundaries):
        boundary = model.boundaries[bid]
        members = sorted(e for e, el in model.elements.items() if el.boundary == bid)
        lines.append(
            f'  subgraph {_node_id("b_" + bid)}["{_label(boundary.name)} ({boundary.trust})"]'
        )
        lines.extend(f"    {node(eid)}" for eid in members)
        lines.append("  end")
    lines.extend(
        f"  {node(eid)}" for eid in sorted(model.elements) if model.elements[eid].boundary is None
    )
    for fid in sorted(model.flows):
        flow = model.flows[fid]
        data = ", ".join(sorted(flow.data)) or "—"
        arrow = "==>" if fid in assessment.crossing else "-->"
        label = _label(f"{flow.name} [{data}] {flow.protocol} · {counts.get(fid, 0)} threats")
        lines.append(f'  {_node_id(flow.source)} {arrow}|"{label}"| {_node_id(flow.target)}')
    for eid in sorted(model.elements):
        if counts.get(eid, 0):
            lines.append(f"  class {_node_id(eid)} threatened")
    lines.append("  classDef threatened stroke:#b42318,stroke-width:2px")
    return "\n".join(lines) + "\n"


def dot(assessment: Assessment) -> str:
    """Graphviz DOT of the same diagram (rendered to SVG when ``dot`` is installed)."""
    model = assessment.model
    counts = threat_counts(assessment)
    out = [
        "digraph dfd {",
        '  rankdir=LR; node [fontname="Helvetica", fontsize=10]; edge [fontsize=8];',
    ]

    def node(eid: str) -> str:
        el = model.elements[eid]
        label = f"{_label(el.name)}\\n{counts.get(eid, 0)} threats"
        return f'{_node_id(eid)} [shape={_DOT_SHAPES[el.type]}, label="{label}"];'

    for bid in sorted(model.boundaries):
        boundary = model.boundaries[bid]
        out.append(
            f"  subgraph cluster_{_node_id(bid)} {{ "
            f'label="{_label(boundary.name)} ({boundary.trust})"; style=dashed; color="#b42318";'
        )
        out.extend(
            f"    {node(e)}" for e in sorted(model.elements) if model.elements[e].boundary == bid
        )
        out.append("  }")
    out.extend(f"  {node(e)}" for e in sorted(model.elements) if model.elements[e].boundary is None)
    for fid in sorted(model.flows):
        flow = model.flows[fid]
        label = _label(f"{flow.name} [{', '.join(sorted(flow.data))}]")
        style = ', style=bold, color="#b42318"' if fid in assessment.crossing else ""
        out.append(
            f'  {_node_id(flow.source)} -> {_node_id(flow.target)} [label="{label}"{style}];'
        )
    out.append("}")
    return "\n".join(out) + "\n"


def _band_level(score: int) -> int:
    return 0 if score < 5 else 1 if score < 10 else 2 if score < 20 else 3


def heatmap_png(entries: list[dict[str, Any]], which: str, title: str) -> bytes:
    """A 5×5 likelihood × impact grid with the number of risks in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    grid = [[0] * 5 for _ in range(5)]
    lkey, ikey = (
        ("likelihood", "impact")
        if which == "inherent"
        else ("residual_likelihood", "residual_impact")
    )
    for entry in entries:
        grid[int(entry[lkey]) - 1][int(entry[ikey]) - 1] += 1
    colours = ListedColormap(["#d1fadf", "#fef0c7", "#fedf89", "#fda29b"])
    fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=100)
    band_index = [[_band_level((row + 1) * (col + 1)) for col in range(5)] for row in range(5)]
    ax.imshow(band_index, cmap=colours, origin="lower", vmin=0, vmax=3)
    for row in range(5):
        for col in range(5):
            if grid[row][col]:
                ax.text(
                    col,
                    row,
                    str(grid[row][col]),
                    ha="center",
                    va="center",
                    fontsize=12,
                    fontweight="bold",
                )
    ax.set_xticks(range(5), [str(n) for n in range(1, 6)])
    ax.set_yticks(range(5), [str(n) for n in range(1, 6)])
    ax.set_xlabel("Impact")
    ax.set_ylabel("Likelihood")
    ax.set_title(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def register_csv(assessment: Assessment) -> str:
    """The register as CSV, one row per entry."""
    columns = [
        "id",
        "state",
        "target_kind",
        "target",
        "target_name",
        "rule",
        "title",
        "category",
        "stride",
        "linddun",
        "atlas",
        "owasp_llm",
        "owasp_ml",
        "likelihood",
        "impact",
        "inherent_score",
        "inherent_band",
        "effective_controls",
        "residual_score",
        "residual_band",
        "owner",
        "due",
        "status",
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for entry in assessment.register["entries"]:
        row = dict(entry)
        row["effective_controls"] = [
            m["control"] for m in entry.get("mitigations", []) if m["state"] == "effective"
        ]
        writer.writerow(
            [
                ";".join(row.get(c, [])) if isinstance(row.get(c), list) else row.get(c, "")
                for c in columns
            ]
        )
    return buffer.getvalue()


def _band_rank(entry: dict[str, Any]) -> tuple[int, int, str]:
    return (-int(entry["residual_score"]), -int(entry["inherent_score"]), str(entry["id"]))


def _plan_rank(plan: dict[str, Any]) -> tuple[int, int, str]:
    return (BANDS.index(plan["severity"]), -len(plan["entries"]), plan["playbook"].id)


def plans(assessment: Assessment) -> list[dict[str, Any]]:
    """Playbooks needed for residual risks above low, most severe first."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in assessment.active:
        if entry["residual_band"] != "low" and entry["status"] not in ("avoided", "transferred"):
            grouped.setdefault(entry["playbook"], []).append(entry)
    result = []
    for pid, entries in grouped.items():
        playbook = assessment.catalogue.playbooks[pid]
        worst = min(BANDS.index(e["residual_band"]) for e in entries)
        result.append(
            {
                "playbook": playbook,
                "severity": BANDS[worst],
                "entries": sorted(entries, key=_band_rank),
                "targets": sorted({e["target_name"] for e in entries}),
            }
        )
    result.sort(key=_plan_rank)
    return result


def context(assessment: Assessment) -> dict[str, Any]:
    """Plain data the templates render."""
    model = assessment.model
    active = assessment.active
    by_target: dict[str, list[dict[str, Any]]] = {}
    for entry in active:
        by_target.setdefault(entry["target"], []).append(entry)
    targets: list[dict[str, Any]] = []
    for eid in sorted(model.elements):
        el = model.elements[eid]
        targets.append(
            {
                "id": eid,
                "name": el.name,
                "kind": el.type,
                "boundary": el.boundary or "—",
                "controls": sorted(el.controls),
                "entries": sorted(by_target.get(eid, []), key=_band_rank),
            }
        )
    for fid in sorted(model.flows):
        fl = model.flows[fid]
        kind = "flow (crosses boundary)" if fid in assessment.crossing else "flow"
        targets.append(
            {
                "id": fid,
                "name": f"{fl.name}: {fl.source} → {fl.target}",
                "kind": kind,
                "boundary": ", ".join(sorted(fl.data)) or "—",
                "controls": sorted(fl.controls | fl.implied_controls),
                "entries": sorted(by_target.get(fid, []), key=_band_rank),
            }
        )
    coverage = []
    for fid, rows in assessment.coverage.items():
        counts = Counter(r.status for r in rows)
        coverage.append(
            {
                "id": fid,
                "title": assessment.catalogue.frameworks[fid].title,
                "rows": rows,
                "counts": {
                    s: counts.get(s, 0) for s in ("evidenced", "claimed", "failing", "none")
                },
            }
        )
    evidence = [
        {
            "control": cid,
            "title": assessment.catalogue.controls[cid].title,
            "status": ev.status,
            "effective": ev.effective,
            "declared": ev.declared_check,
            "checks": ev.checks,
        }
        for cid, ev in sorted(assessment.evidence.items())
    ]
    return {
        "system": {
            "name": model.name,
            "description": model.description,
            "source": model.source.name,
            "elements": len(model.elements),
            "flows": len(model.flows),
            "boundaries": len(model.boundaries),
        },
        "as_of": assessment.as_of,
        "tier": assessment.tier,
        "counts": {
            "active": len(active),
            "suppressed": len(assessment.suppressed),
            "vanished": sum(1 for e in assessment.register["entries"] if e["state"] == "vanished"),
            "inherent": {b: sum(1 for e in active if e["inherent_band"] == b) for b in BANDS},
            "residual": {b: sum(1 for e in active if e["residual_band"] == b) for b in BANDS},
            "category": {
                c: sum(1 for e in active if e["category"] == c)
                for c in ("stride", "linddun", "ml", "llm")
            },
        },
        "top": sorted(active, key=_band_rank)[:12],
        "targets": targets,
        "suppressed": [
            {
                "id": t.id,
                "rule": t.rule.id,
                "title": t.rule.title,
                "target": t.target,
                "reason": t.suppressed,
            }
            for t in assessment.suppressed
        ],
        "evidence": evidence,
        "coverage": coverage,
        "plans": plans(assessment),
        "signoffs": assessment.register.get("signoffs", []),
        "atlas": assessment.catalogue.atlas,
        "controls": assessment.catalogue.controls,
        "mermaid": mermaid(assessment),
    }


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("bastion.risk", "data/templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_all(assessment: Assessment) -> dict[str, bytes]:
    """Every report file name and its bytes."""
    env = _environment()
    ctx = context(assessment)
    inherent = heatmap_png(assessment.active, "inherent", "Inherent risk")
    residual = heatmap_png(assessment.active, "residual", "Residual risk")
    files: dict[str, bytes] = {
        "report.md": env.get_template("report.md.jinja").render(**ctx).encode(),
        "report.html": env.get_template("report.html.jinja")
        .render(
            **ctx,
            heatmap_inherent=base64.b64encode(inherent).decode(),
            heatmap_residual=base64.b64encode(residual).decode(),
        )
        .encode(),
        "incident-response.md": env.get_template("incident-response.md.jinja")
        .render(**ctx)
        .encode(),
        "monitoring-plan.md": env.get_template("monitoring-plan.md.jinja").render(**ctx).encode(),
        "register.json": dump_register(assessment.register, Path("register.json")).encode(),
        "register.csv": register_csv(assessment).encode(),
        "dfd.mmd": ctx["mermaid"].encode(),
        "dfd.dot": dot(assessment).encode(),
        "heatmap-inherent.png": inherent,
        "heatmap-residual.png": residual,
    }
    dot_binary = shutil.which("dot")
    model = assessment.model
    if dot_binary and len(model.elements) + len(model.flows) <= SVG_LIMIT:
        completed = subprocess.run(  # noqa: S603 - fixed binary, our own DOT text on stdin
            [dot_binary, "-Tsvg"],
            input=files["dfd.dot"],
            capture_output=True,
            check=False,
            timeout=120,
        )
        if completed.returncode == 0:
            files["dfd.svg"] = completed.stdout
    return files


def write_reports(assessment: Assessment, out_dir: Path) -> list[Path]:
    """Render everything first, then move finished files into place (no partial reports).

    Other files in ``out_dir`` are left alone, so ``--out .`` never deletes anything.
    """
    files = render_all(assessment)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValidationError("output path exists and is not a directory", file=str(out_dir))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out_dir}: cannot create output directory ({exc.strerror})") from None
    staging = Path(tempfile.mkdtemp(prefix=".bastion-risk.", dir=out_dir))
    try:
        for name, content in files.items():
            (staging / name).write_bytes(content)
        for name in sorted(files):
            (staging / name).replace(out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / name for name in sorted(files)]

"""Train Bastion's bundled prompt-injection classifier.

Data: the deepset/prompt-injections train split (``../shared/data/prompt-injection/``
beside the checkout, 546 rows, English and German) plus the project's own
labelled examples in ``src/bastion/guards/data/injection_extra_examples.jsonl``
(benign look-alikes and obfuscated/German attacks).  Model: TF-IDF word 1-2 grams
and character 2-5 grams (within word boundaries), logistic regression.
Metrics are cross-validated (stratified 5-fold, repeated) and written beside the
model; the decision threshold is chosen on out-of-fold predictions to keep the
false-positive rate low.  The model is saved with skops, never pickle.

    .venv/bin/python scripts/train_injection_classifier.py
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "src" / "bastion" / "guards" / "data"
DEFAULT_DEEPSET = (
    ROOT.parent / "shared" / "data" / "prompt-injection" / "deepset-prompt-injections-train.parquet"
)
SEED = 20240601
MAX_FPR = 0.03


def build_pipeline(c: float = 4.0) -> Pipeline:
    """The feature extractor and model; the scorer in bastion.guards mirrors this layout."""
    features = FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
                ),
            ),
        ]
    )
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=SEED)
    return Pipeline([("features", features), ("model", model)])


def compact(pipeline: Pipeline) -> None:
    """Store vocabularies with plain ints (skops writes one file per numpy scalar otherwise)."""
    for _, vectorizer in pipeline.named_steps["features"].transformer_list:
        vectorizer.vocabulary_ = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        if hasattr(vectorizer, "stop_words_"):
            delattr(vectorizer, "stop_words_")  # only needed for introspection, not transform


def load_data(deepset: Path) -> pd.DataFrame:
    """The deepset train split plus the project's own examples, de-duplicated."""
    frames = [pd.read_parquet(deepset)[["text", "label"]].assign(source="deepset-train")]
    extra = DATA_DIR / "injection_extra_examples.jsonl"
    rows = [
        json.loads(line) for line in extra.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    frames.append(pd.DataFrame(rows)[["text", "label"]].assign(source="bastion-extra"))
    data = pd.concat(frames, ignore_index=True)
    data["label"] = data["label"].astype(int)
    return data.drop_duplicates(subset="text").reset_index(drop=True)


def out_of_fold(data: pd.DataFrame, c: float, repeats: int) -> np.ndarray:
    """Mean out-of-fold probability per row over repeated stratified 5-fold CV."""
    texts = data["text"].to_numpy()
    labels = data["label"].to_numpy()
    total = np.zeros(len(data))
    folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=SEED)
    for train_idx, test_idx in folds.split(texts, labels):
        pipe = build_pipeline(c).fit(texts[train_idx], labels[train_idx])
        total[test_idx] += pipe.predict_proba(texts[test_idx])[:, 1]
    return total / repeats


def pick_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The lowest threshold whose out-of-fold FPR on benign rows stays within MAX_FPR."""
    benign = np.sort(scores[labels == 0])
    index = int(np.ceil(len(benign) * (1 - MAX_FPR))) - 1
    return float(max(0.5, min(0.95, benign[min(index, len(benign) - 1)] + 1e-6)))


def metrics_at(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    predicted = (scores >= threshold).astype(int)
    negatives = labels == 0
    return {
        "precision": round(float(precision_score(labels, predicted, zero_division=0)), 4),
        "recall": round(float(recall_score(labels, predicted)), 4),
        "f1": round(float(f1_score(labels, predicted)), 4),
        "fpr": round(float(predicted[negatives].mean()), 4),
        "accuracy": round(float((predicted == labels).mean()), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deepset", type=Path, default=DEFAULT_DEEPSET)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument(
        "--c", type=float, action="append", help="regularisation C to try (default 1, 4, 16)"
    )
    args = parser.parse_args()
    if not args.deepset.is_file():
        print(f"error: training data not found at {args.deepset}", file=sys.stderr)
        return 2
    data = load_data(args.deepset)
    labels = data["label"].to_numpy()

    cv: dict[str, dict[str, float]] = {}
    best_c, best_auc, best_scores = 0.0, -1.0, np.zeros(0)
    for c in args.c or (1.0, 4.0, 16.0):
        scores = out_of_fold(data, c, args.repeats)
        auc = float(roc_auc_score(labels, scores))
        cv[f"C={c}"] = {"roc_auc": round(auc, 4), **metrics_at(labels, scores, 0.5)}
        if auc > best_auc:
            best_c, best_auc, best_scores = c, auc, scores
    threshold = pick_threshold(labels, best_scores)
    pipeline = build_pipeline(best_c).fit(data["text"].to_numpy(), labels)
    compact(pipeline)

    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / "injection_classifier.skops"
    sio.dump(pipeline, model_path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    extra_mask = (data["source"] == "bastion-extra").to_numpy()
    report = {
        "model": "TF-IDF word 1-2 + char_wb 2-5 grams, LogisticRegression(balanced)",
        "training_rows": len(data),
        "positives": int(labels.sum()),
        "sources": {k: int(v) for k, v in data["source"].value_counts().items()},
        "chosen_C": best_c,
        "threshold": round(threshold, 4),
        "threshold_rule": f"lowest out-of-fold threshold with benign FPR <= {MAX_FPR} (floor 0.5)",
        "cross_validation": {
            "scheme": f"RepeatedStratifiedKFold(5 splits, {args.repeats} repeats), mean OOF prob",
            "per_C_at_0.5": cv,
            "chosen_at_threshold": {
                "roc_auc": round(best_auc, 4),
                **metrics_at(labels, best_scores, threshold),
            },
            "chosen_at_threshold_bastion_extra_only": metrics_at(
                labels[extra_mask], best_scores[extra_mask], threshold
            ),
        },
        "untrusted_types_in_file": sio.get_untrusted_types(file=model_path),
        "note": "C and threshold were selected on cross-validation of the training data only; "
        "no public test split was used.",
    }
    (args.out / "injection_classifier.metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["cross_validation"]["chosen_at_threshold"], indent=2))
    print(f"saved {model_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Compare training backends on the same split, and on outside data the corpus did not write.

    .venv/bin/python benchmarks/compare_backends.py [CONFIG.yaml ...] [--out benchmarks/results/backends.json]

Each config is trained into a throw-away MLflow store (as `madoguchi train`
would), measured on the corpus test split and on the 子育て FAQ rows (never
trained on), and the table is printed and written as JSON. This is how the
served default was chosen; rerun it after changing the corpus or a backend.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_CONFIGS = ["tfidf-linear", "embedding-head", "ensemble", "transformer-tiny"]


def main() -> int:
    from evaluation.labelled import load_labelled
    from evaluation.metrics import heldout_metrics
    from madoguchi.registry import load_by_alias
    from madoguchi.settings import Settings
    from madoguchi.taxonomy import load_taxonomy
    from training.config import TrainConfig
    from training.train import train

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("configs", nargs="*", help="config files (default: the four shipped backends)")
    parser.add_argument("--outside-source", default="kosodate-faq")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "backends.json"))
    args = parser.parse_args()
    configs = args.configs or [str(ROOT / "models" / "configs" / f"{c}.yaml") for c in DEFAULT_CONFIGS]

    base = Settings()
    taxonomy = load_taxonomy(base.taxonomy_path)
    outside = load_labelled(base.corpus_path, taxonomy, source=args.outside_source)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in configs:
            config = TrainConfig.from_yaml(path)
            settings = Settings(tracking_uri=f"sqlite:///{tmp}/{config.name}.db", model_name=config.name)
            result = train(config, settings, progress=False)
            model, info = load_by_alias(settings)
            started = time.perf_counter()
            proba = model.predict_proba(outside.texts)
            outside_ms = (time.perf_counter() - started) * 1e6 / len(outside.texts)
            out = heldout_metrics(outside.labels, proba, model.labels, info.review_threshold)
            m = result.metrics
            row = {
                "config": config.name, "backend": config.backend,
                "test_macro_f1": m["macro_f1"], "test_accuracy": m["accuracy"], "test_ece": m["ece"],
                "test_review_share": m["review_share"], "test_auto_accuracy": m["auto_accuracy"],
                "outside_macro_f1": out["macro_f1"], "outside_accuracy": out["accuracy"], "outside_ece": out["ece"],
                "outside_review_share": out["review_share"], "outside_auto_accuracy": out["auto_accuracy"],
                "review_threshold": result.review_threshold, "train_seconds": m["train_seconds"],
                "predict_ms_per_1000": m["predict_ms_per_1000"], "outside_predict_ms_per_1000": outside_ms,
                "n_test": m["n"], "n_outside": out["n"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    header = ("config", "test macro-F1", "test acc", "test ECE", "FAQ macro-F1", "FAQ acc", "FAQ ECE",
              "review (test/FAQ)", "train s", "predict ms/1000")
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for r in rows:
        print(f"| {r['config']} | {r['test_macro_f1']:.3f} | {r['test_accuracy']:.3f} | {r['test_ece']:.3f} | "
              f"{r['outside_macro_f1']:.3f} | {r['outside_accuracy']:.3f} | {r['outside_ece']:.3f} | "
              f"{r['test_review_share']:.0%} / {r['outside_review_share']:.0%} | {r['train_seconds']:.0f} | "
              f"{r['predict_ms_per_1000']:.0f} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                                          "outside": outside.name, "rows": rows}, indent=1), encoding="utf-8")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

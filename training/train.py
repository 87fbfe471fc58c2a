"""One training run: fit on the train split, measure on the test split, log and register.

The run is the unit of record: parameters, the data's digest, held-out
metrics, the confusion matrix and the model itself go into one MLflow run,
and the model becomes a registered version. The first version of a model
becomes `@champion`; later ones become `@challenger` until promoted.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from evaluation.labelled import LabelledSet
from evaluation.metrics import choose_review_threshold
from evaluation.report import write_report
from madoguchi.inference import ModelInfo
from madoguchi.model import ESTIMATOR_ARTIFACT, InquiryClassifierModel
from madoguchi.paths import PROJECT_ROOT
from madoguchi.settings import Settings
from madoguchi.taxonomy import Taxonomy, load_taxonomy
from madoguchi.text import prepare
from madoguchi.tracking import configure
from training.config import TrainConfig
from training.corpus import Row, load_corpus
from training.tfidf_linear import build_estimator

PACKAGES = ("scikit-learn", "mlflow", "fugashi", "unidic-lite", "numpy")


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
        return (f"{self.model_name} v{self.version} @{self.alias}: held-out macro-F1 {m['macro_f1']:.3f}, "
                f"accuracy {m['accuracy']:.3f} on {m['n']} test rows; review threshold "
                f"{self.review_threshold:.2f} sends {m['review_share']:.0%} to a person "
                f"({self.seconds:.0f} s, run {self.run_id[:8]})")


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _frame(rows: list[Row]) -> pd.DataFrame:
    return pd.DataFrame({"id": [r.id for r in rows], "text": [prepare(r.text) for r in rows],
                         "label": [r.label for r in rows], "source": [r.source for r in rows],
                         "channel": [r.channel for r in rows]})


def _out_of_fold_proba(config: TrainConfig, texts: list[str], labels: list[str]) -> tuple[np.ndarray, list[str]]:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    estimator = build_estimator(config.params, config.seed)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=config.seed)
    proba = cross_val_predict(estimator, texts, labels, cv=folds, method="predict_proba")
    return proba, sorted(set(labels))


def train(config: TrainConfig, settings: Settings, data_path: Path | None = None,
          register: bool = True, progress: bool = True) -> TrainResult:
    with contextlib.ExitStack() as stack:
        return _train(config, settings, stack, data_path, register, progress)


def _train(config: TrainConfig, settings: Settings, stack: contextlib.ExitStack, data_path: Path | None,
           register: bool, progress: bool) -> TrainResult:
    import joblib
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    started = time.perf_counter()
    data_path = Path(data_path or settings.corpus_path)
    taxonomy: Taxonomy = load_taxonomy(settings.taxonomy_path)
    steps = tqdm(total=6, desc="training", unit="step", disable=not progress)

    steps.set_description("reading corpus")
    rows = [r for r in load_corpus(data_path, taxonomy) if r.source.split(":")[0] not in config.exclude_sources]
    train_df = _frame([r for r in rows if r.split == "train"])
    test_df = _frame([r for r in rows if r.split == "test"])
    if train_df.empty or test_df.empty:
        raise ValueError(f"{data_path}: need rows in both splits, found {len(train_df)} train / {len(test_df)} test")
    steps.update()

    steps.set_description("choosing review threshold (3-fold)")
    oof, oof_labels = _out_of_fold_proba(config, train_df.text.tolist(), train_df.label.tolist())
    threshold = choose_review_threshold(train_df.label, oof, oof_labels, config.target_precision)
    steps.update()

    steps.set_description("fitting")
    estimator = build_estimator(config.params, config.seed).fit(train_df.text.tolist(), train_df.label.tolist())
    model = InquiryClassifierModel(settings.max_text_chars).attach(estimator)
    steps.update()

    steps.set_description("evaluating on held-out rows")
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    # The administrators' report on the test split; its numbers are the run's metrics.
    candidate = ModelInfo(settings.model_name, "candidate", None, threshold, taxonomy.version, config.backend)
    test_set = LabelledSet("test split", test_df.text.tolist(), test_df.label.tolist())
    metrics = write_report(model, candidate, taxonomy, test_set, tmp / "evaluation").numbers
    steps.update()

    steps.set_description("logging to MLflow")
    experiment_id = configure(settings)
    with mlflow.start_run(experiment_id=experiment_id, run_name=config.name) as run:
        mlflow.log_params({**config.as_params(), "n_train": len(train_df), "n_test": len(test_df),
                           "data_path": str(data_path)})
        mlflow.set_tags({"git_commit": _git_commit(), "backend": config.backend,
                         "taxonomy_version": taxonomy.version,
                         **{f"version.{p}": package_version(p) for p in PACKAGES}})
        source = str(data_path)
        mlflow.log_input(mlflow.data.from_pandas(train_df, source=source, name="corpus-train", targets="label"),
                         context="training")
        mlflow.log_input(mlflow.data.from_pandas(test_df, source=source, name="corpus-test", targets="label"),
                         context="evaluation")
        mlflow.log_metrics({k: v for k, v in metrics.items() if isinstance(v, float | int)})
        mlflow.log_metrics({f"f1.{code}": m["f1"] for code, m in metrics["per_category"].items()})
        mlflow.log_artifacts(str(tmp / "evaluation"), artifact_path="evaluation")
        steps.update()

        steps.set_description("registering model")
        estimator_path = tmp / "estimator.joblib"
        joblib.dump(estimator, estimator_path)
        signature = ModelSignature(inputs=Schema([ColSpec("string", "text")]),
                                   outputs=Schema([ColSpec("double", label) for label in model.labels]))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=InquiryClassifierModel(settings.max_text_chars),
            artifacts={ESTIMATOR_ARTIFACT: str(estimator_path)},
            signature=signature,
            input_example=pd.DataFrame({"text": ["引っ越したので住所変更をしたい"]}),
            metadata={"backend": config.backend, "taxonomy_version": taxonomy.version,
                      "review_threshold": threshold, "labels": json.dumps(model.labels)},
            pip_requirements=["madoguchi", *(f"{p}=={package_version(p)}" for p in PACKAGES)],
            registered_model_name=settings.model_name if register else None,
        )
        version, alias = "", ""
        if register:
            client = MlflowClient()
            version = str(info.registered_model_version)
            try:
                client.get_model_version_by_alias(settings.model_name, "champion")
                alias = "challenger"
            except MlflowException:
                alias = "champion"
            client.set_registered_model_alias(settings.model_name, alias, version)
        steps.update()
    steps.close()
    return TrainResult(run.info.run_id, settings.model_name, version, alias, metrics, threshold,
                       time.perf_counter() - started)

"""A registered model version loaded for serving, without the MLflow client.

`import mlflow` alone costs a serving process about 110 MB and a second of
start-up, and the hot path never needs it: the pyfunc wrapper only forwards
to the fitted estimator. The service therefore asks a short-lived child
process (`madoguchi.resolve_version`) which version `@champion` names and
where its files are, then reads that folder itself: the estimator artifact
and the `metadata` of the version's MLmodel file. Any MLflow store works
(SQLite, a tracking server, remote artifact stores): the child uses the
regular MLflow client and downloads what is not on local disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from madoguchi.inference import ModelInfo
from madoguchi.settings import Settings

ESTIMATOR_ARTIFACT = "estimator"
RESOLVE_TIMEOUT_S = 300
NOT_FOUND_EXIT = 3


class ModelNotFoundError(LookupError):
    """No model version carries the requested alias."""


@dataclass(frozen=True)
class ResolvedVersion:
    name: str
    version: str
    run_id: str | None
    path: Path  # local folder holding the version's MLmodel file


class ServedModel:
    """The fitted estimator of one model version: labels and `predict_proba` over prepared texts."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        self.labels = [str(label) for label in estimator.classes_]

    def predict_proba(self, prepared_texts: Sequence[str]) -> np.ndarray:
        return self.estimator.predict_proba(list(prepared_texts))


def model_info(name: str, version: str, run_id: str | None, metadata: Mapping[str, Any] | None) -> ModelInfo:
    """The facts an answer names, from the metadata `madoguchi train` logs with every version."""
    meta = metadata or {}
    return ModelInfo(
        name=name,
        version=version,
        run_id=run_id,
        review_threshold=float(meta.get("review_threshold", 0.5)),
        taxonomy_version=int(meta.get("taxonomy_version", 1)),
        backend=str(meta.get("backend", "unknown")),
    )


class PendingResolve:
    """A started child process resolving the alias; the caller imports and sets up meanwhile."""

    def __init__(self, settings: Settings) -> None:
        self.target = f"models:/{settings.model_name}@{settings.model_alias}"
        command = [sys.executable, "-m", "madoguchi.resolve_version", "--tracking-uri", settings.tracking_uri,
                   "--name", settings.model_name, "--alias", settings.model_alias,
                   "--cache-dir", str(settings.cache_dir / "models")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def result(self) -> ResolvedVersion:
        try:
            stdout, stderr = self.process.communicate(timeout=RESOLVE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise RuntimeError(f"resolving {self.target} took over {RESOLVE_TIMEOUT_S} s") from None
        if self.process.returncode == NOT_FOUND_EXIT:
            raise ModelNotFoundError(stdout.strip())
        if self.process.returncode != 0:
            lines = stderr.strip().splitlines() or ["(no output)"]
            raise RuntimeError(f"resolving {self.target} failed: {lines[-1]}")
        found = json.loads(stdout)
        return ResolvedVersion(found["name"], found["version"], found["run_id"], Path(found["path"]))


def resolve(settings: Settings) -> ResolvedVersion:
    """Which version the alias names, and the local folder holding its files."""
    return PendingResolve(settings).result()


def load_model_dir(path: Path, name: str, version: str) -> tuple[ServedModel, ModelInfo]:
    """Read an MLflow model folder written by `madoguchi train` (MLmodel + artifacts/estimator)."""
    from madoguchi.estimators import load_estimator

    mlmodel = yaml.safe_load((path / "MLmodel").read_text(encoding="utf-8"))
    try:
        artifact = mlmodel["flavors"]["python_function"]["artifacts"][ESTIMATOR_ARTIFACT]["path"]
    except (KeyError, TypeError):
        raise ValueError(f"{path / 'MLmodel'}: not a Madoguchi model (no '{ESTIMATOR_ARTIFACT}' artifact)") from None
    model = ServedModel(load_estimator(path / artifact))
    return model, model_info(name, version, mlmodel.get("run_id"), mlmodel.get("metadata"))


def load_served(settings: Settings, found: ResolvedVersion | None = None) -> tuple[ServedModel, ModelInfo]:
    """The version `models:/<name>@<alias>` names (or `found`), loaded without importing MLflow here."""
    found = found or resolve(settings)
    return load_model_dir(found.path, found.name, found.version)

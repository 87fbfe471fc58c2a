"""A registered model version loaded for serving, without the MLflow client.

`import mlflow` alone costs a serving process about 110 MB and a second of
start-up, and the hot path never needs it: the pyfunc wrapper only forwards
to the fitted estimator. The service therefore finds out which version
`@champion` names and where its files are — from the embedded SQLite store
directly, or by asking a short-lived child process with the MLflow client
(`madoguchi.resolve_version`) for any other store (a tracking server, remote
artifact stores; the child downloads what is not on local disk) — and then
reads that folder itself: the estimator artifact and the `metadata` of the
version's MLmodel file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import yaml

from madoguchi.inference import ModelInfo
from madoguchi.settings import Settings
from madoguchi.steps import Steps, proba_steps

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

    def predict_proba_steps(self, prepared_texts: Sequence[str]) -> Steps:
        return proba_steps(self.estimator, list(prepared_texts))


def local_path(uri: str) -> Path | None:
    """The folder a `file:` (or scheme-less) artifact URI names; None for a remote one."""
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme in ("", "file") else None


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


def read_local_registry(settings: Settings) -> ResolvedVersion | None:
    """The embedded SQLite store's answer, read directly; None whenever anything is not as expected.

    Starting the MLflow client in a child costs about two seconds (import and
    store checks), most of the service's cold start, for one lookup of two
    rows. The query reads MLflow's registry tables (schema of MLflow 3.x) in
    read-only mode; a schema change, a version not READY or artifacts not on
    local disk make it return None, and the caller asks MLflow itself. A test
    checks that both ways give the same answer.
    """
    uri = settings.tracking_uri
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri.removeprefix("sqlite:///"))
    if not database.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute(
                "SELECT v.version, v.run_id, v.storage_location FROM registered_model_aliases a "
                "JOIN model_versions v ON v.workspace = a.workspace AND v.name = a.name AND v.version = a.version "
                "WHERE a.workspace = 'default' AND a.name = ? AND a.alias = ? AND v.status = 'READY'",
                (settings.model_name, settings.model_alias)).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    version, run_id, location = row
    path = local_path(location) if location else None
    if path is None or not (path / "MLmodel").is_file():
        return None
    return ResolvedVersion(settings.model_name, str(version), run_id, path)


class PendingResolve:
    """Resolving the alias: read from the local store at once, or by a child process with the MLflow client.

    The child runs while the caller imports and sets up.
    """

    def __init__(self, settings: Settings, direct: bool = True) -> None:
        self.target = f"models:/{settings.model_name}@{settings.model_alias}"
        self.found = read_local_registry(settings) if direct else None
        if self.found is not None:
            return
        command = [sys.executable, "-m", "madoguchi.resolve_version", "--tracking-uri", settings.tracking_uri,
                   "--name", settings.model_name, "--alias", settings.model_alias,
                   "--cache-dir", str(settings.cache_dir / "models")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def result(self) -> ResolvedVersion:
        if self.found is not None:
            return self.found
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


def resolve(settings: Settings, direct: bool = True) -> ResolvedVersion:
    """Which version the alias names, and the local folder holding its files (`direct=False`: ask MLflow)."""
    return PendingResolve(settings, direct).result()


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

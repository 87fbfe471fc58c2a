"""One place that points MLflow at the configured store.

With the embedded SQLite store, MLflow would put artifacts in ./mlruns of
whatever folder the command runs from; the experiment is therefore created
with an explicit artifact location inside the project, so `make serve`, the
CLI and the tests all find the same models whatever their working directory.
"""

from __future__ import annotations

from pathlib import Path

from madoguchi.settings import Settings


def artifact_root(settings: Settings) -> Path | None:
    """Artifact folder for a local SQLite store (beside its .db file); None where a server decides."""
    if settings.artifact_root is not None:
        return settings.artifact_root
    uri = settings.tracking_uri
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts"
    return None


def configure(settings: Settings) -> str:
    """Point MLflow at the store and return the experiment id to log into."""
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    experiment = mlflow.get_experiment_by_name(settings.experiment)
    if experiment is not None:
        return experiment.experiment_id
    root = artifact_root(settings)
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
        return mlflow.create_experiment(settings.experiment, artifact_location=root.as_uri())
    # A tracking server decides where artifacts go (its --artifacts-destination).
    return mlflow.create_experiment(settings.experiment)

"""One place that points MLflow at the configured store.

With the embedded SQLite store, MLflow would put artifacts in ./mlruns of
whatever folder the command runs from; the experiment is therefore created
with an explicit artifact location inside the project, so `make serve`, the
CLI and the tests all find the same models whatever their working directory.
"""

from __future__ import annotations

from madoguchi.settings import Settings


def configure(settings: Settings) -> str:
    """Point MLflow at the store and return the experiment id to log into."""
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    experiment = mlflow.get_experiment_by_name(settings.experiment)
    if experiment is not None:
        return experiment.experiment_id
    local = settings.tracking_uri.startswith(("sqlite:", "file:")) or "://" not in settings.tracking_uri
    if local:
        settings.artifact_root.mkdir(parents=True, exist_ok=True)
        return mlflow.create_experiment(settings.experiment, artifact_location=settings.artifact_root.as_uri())
    # A tracking server decides where artifacts go (its --artifacts-destination).
    return mlflow.create_experiment(settings.experiment)

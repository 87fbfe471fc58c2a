"""Loading a model from the MLflow registry by alias, with the MLflow client in this process.

The alias is resolved to a concrete version first and that version is
loaded, so every answer can name the exact version that produced it even
after `@champion` moves. The CLI, training and promotion use this; the
service uses `madoguchi.served_model`, which keeps MLflow out of the serving
process.
"""

from __future__ import annotations

from madoguchi.inference import ModelInfo
from madoguchi.model import InquiryClassifierModel
from madoguchi.served_model import ModelNotFoundError, model_info
from madoguchi.settings import Settings
from madoguchi.tracking import configure

__all__ = ["ModelNotFoundError", "load_by_alias", "load_uri"]


def load_by_alias(settings: Settings) -> tuple[InquiryClassifierModel, ModelInfo]:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    configure(settings)
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(settings.model_name, settings.model_alias)
    except MlflowException as exc:
        raise ModelNotFoundError(
            f"no model version of {settings.model_name!r} has the alias @{settings.model_alias} "
            f"in {settings.tracking_uri}; run `madoguchi train` first"
        ) from exc
    name, number = settings.model_name, str(version.version)
    return _unwrap(mlflow.pyfunc.load_model(f"models:/{name}/{number}"), name, number)


def load_uri(uri: str) -> tuple[InquiryClassifierModel, ModelInfo]:
    """Load any model URI (models:/name@alias, runs:/…, a local path)."""
    import mlflow

    name, version = uri, "local"
    if uri.startswith("models:/"):
        from mlflow import MlflowClient

        ref = uri.removeprefix("models:/")
        client = MlflowClient()
        if "@" in ref:
            name, alias = ref.split("@", 1)
            version = str(client.get_model_version_by_alias(name, alias).version)
        elif "/" in ref:
            name, version = ref.split("/", 1)
        uri = f"models:/{name}/{version}"
    return _unwrap(mlflow.pyfunc.load_model(uri), name, version)


def _unwrap(pyfunc, name: str, version: str) -> tuple[InquiryClassifierModel, ModelInfo]:
    model = pyfunc.unwrap_python_model()
    if not isinstance(model, InquiryClassifierModel):
        raise TypeError(f"{name} v{version} is not a Madoguchi model (found {type(model).__name__})")
    return model, model_info(name, version, pyfunc.metadata.run_id, pyfunc.metadata.metadata)

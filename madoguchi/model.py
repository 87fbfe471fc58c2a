"""The model interface every backend is served through.

Whatever the backend (TF-IDF, sentence embeddings, a fine-tuned encoder), it
is logged as this one MLflow pyfunc model, so the service and the CLI serve
any of them unchanged. The fitted estimator is an artifact loaded once in
`load_context`; it only has to offer scikit-learn's `predict_proba` and
`classes_` over already-prepared texts.

`predict` is the MLflow contract (a DataFrame with a `text` column in, one
probability column per label out). The service calls `predict_proba` on
prepared texts directly, which skips pandas and schema checks on the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

from madoguchi.served_model import ESTIMATOR_ARTIFACT
from madoguchi.text import DEFAULT_MAX_CHARS, TextError, prepare

__all__ = ["ESTIMATOR_ARTIFACT", "InquiryClassifierModel", "ProbabilisticClassifier"]


class ProbabilisticClassifier(Protocol):
    classes_: np.ndarray

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


class InquiryClassifierModel(PythonModel):
    """MLflow pyfunc wrapper around a fitted text classifier."""

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.max_chars = max_chars
        self.estimator: ProbabilisticClassifier | None = None

    def __getstate__(self) -> dict[str, Any]:
        # The estimator travels as an artifact, never inside the pickled wrapper.
        return {"max_chars": self.max_chars}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.max_chars = state["max_chars"]
        self.estimator = None

    def load_context(self, context: Any) -> None:
        from madoguchi.estimators import load_estimator

        self.estimator = load_estimator(context.artifacts[ESTIMATOR_ARTIFACT])

    def attach(self, estimator: ProbabilisticClassifier) -> InquiryClassifierModel:
        """Use an in-memory estimator (training-time evaluation) without a round-trip to disk."""
        self.estimator = estimator
        return self

    @property
    def labels(self) -> list[str]:
        return [str(label) for label in self._fitted().classes_]

    def _fitted(self) -> ProbabilisticClassifier:
        if self.estimator is None:
            raise RuntimeError("the model's estimator is not loaded; call load_context() or attach() first")
        return self.estimator

    def predict_proba(self, prepared_texts: Sequence[str]) -> np.ndarray:
        """Probabilities per label (columns in `labels` order) for texts already passed through `prepare`."""
        return self._fitted().predict_proba(list(prepared_texts))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        try:
            texts = [prepare(text, self.max_chars) for text in model_input["text"]]
        except TextError as exc:
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc
        return pd.DataFrame(self.predict_proba(texts), columns=self.labels)

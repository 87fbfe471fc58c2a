"""Training backends behind one interface.

Each backend turns training texts and labels into a fitted estimator (see
madoguchi.estimators) plus probabilities for training rows that the fitted
model did not learn from — out-of-fold predictions, or a validation slice —
on which the review threshold is chosen. The test split is never touched here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Fitted:
    estimator: Any
    heldin_proba: np.ndarray  # rows: training texts the estimator did not fit on; columns: classes
    heldin_labels: list[str]
    classes: list[str]
    params: dict[str, Any] = field(default_factory=dict)  # extra facts to log (e.g. fitted temperature)


@dataclass
class FitContext:
    seed: int = 0
    progress: bool = True
    cache_dir: Path | None = None


FitFunction = Callable[[dict[str, Any], list[str], list[str], FitContext], Fitted]


def fitter(backend: str) -> FitFunction:
    """The fit function of a backend, imported only when it is used."""
    if backend == "tfidf-linear":
        from training.backends.tfidf_linear import fit
    elif backend == "embedding-head":
        from training.backends.embedding_head import fit
    elif backend == "transformer":
        from training.backends.transformer import fit
    elif backend == "ensemble":
        from training.backends.ensemble import fit
    else:
        raise ValueError(f"unknown backend {backend!r}")
    return fit


def out_of_fold(make: Callable[[], Any], features: Any, labels: list[str], ctx: FitContext,
                folds: int = 3) -> tuple[np.ndarray, list[str]]:
    """Out-of-fold probabilities of a scikit-learn estimator, columns in sorted label order."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=ctx.seed)
    proba = cross_val_predict(make(), features, labels, cv=splitter, method="predict_proba")
    return proba, sorted(set(labels))

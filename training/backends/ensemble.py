"""Probability averaging of several backends, each trained on the same rows.

Members must give out-of-fold probabilities for every training row (the
TF-IDF and embedding backends do), so the ensemble's review threshold is
chosen on averaged out-of-fold probabilities, just like a single model's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from madoguchi.estimators.ensemble import AveragingEnsemble
from training.backends import FitContext, Fitted, fitter

ALLOWED = ("tfidf-linear", "embedding-head")


def fit(params: dict[str, Any], texts: list[str], labels: list[str], ctx: FitContext) -> Fitted:
    members = params.get("members") or []
    if not members:
        raise ValueError("an ensemble needs params.members: a list of {backend, params}")
    weights = params.get("weights") or [1.0] * len(members)
    fitted: list[Fitted] = []
    for member in members:
        backend = member.get("backend")
        if backend not in ALLOWED:
            raise ValueError(f"ensemble member backend {backend!r} is not supported; use one of {ALLOWED}")
        fitted.append(fitter(backend)(member.get("params") or {}, texts, labels, ctx))
    ensemble = AveragingEnsemble([f.estimator for f in fitted], weights)
    classes = [str(c) for c in ensemble.classes_]
    proba = np.zeros((len(texts), len(classes)))
    for f, w in zip(fitted, ensemble.weights, strict=True):
        columns = [classes.index(c) for c in f.classes]
        proba[:, columns] += w * f.heldin_proba
    extra = {f"member{i}.{k}": v for i, f in enumerate(fitted) for k, v in f.params.items()}
    return Fitted(ensemble, proba, list(labels), classes, params=extra)

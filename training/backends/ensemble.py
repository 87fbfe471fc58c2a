"""Probability averaging of several backends, each trained on the same rows.

Members must give out-of-fold probabilities for every training row (the
TF-IDF and embedding backends do), so the ensemble's review threshold is
chosen on averaged out-of-fold probabilities, just like a single model's.
`weights: auto` picks the weights on those out-of-fold probabilities too
(best accuracy, then lowest log-loss, on a grid), never on test data.
`early_exit: true` lets a text leave the average once the members so far
settle its category (madoguchi.estimators.ensemble); the members then run in
the order listed, so list the cheapest first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from madoguchi.estimators.ensemble import AveragingEnsemble
from training.backends import FitContext, Fitted, fitter

ALLOWED = ("tfidf-linear", "embedding-head")
PARAMS = ("members", "weights", "early_exit")


def fit(params: dict[str, Any], texts: list[str], labels: list[str], ctx: FitContext) -> Fitted:
    unknown = set(params) - set(PARAMS)
    if unknown:
        raise ValueError(f"unknown ensemble params {sorted(unknown)}; expected some of {sorted(PARAMS)}")
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
    classes = sorted({c for f in fitted for c in f.classes})
    aligned = []
    for f in fitted:
        block = np.zeros((len(texts), len(classes)))
        block[:, [classes.index(c) for c in f.classes]] = f.heldin_proba
        aligned.append(block)
    if weights == "auto":
        weights = choose_weights(aligned, labels, classes)
    ensemble = AveragingEnsemble([f.estimator for f in fitted], weights, early_exit=bool(params.get("early_exit")))
    proba = ensemble.combine(aligned)  # out-of-fold, with the early exits the served model takes
    extra = {f"member{i}.{k}": v for i, f in enumerate(fitted) for k, v in f.params.items()}
    extra["weights"] = ",".join(f"{w:.2f}" for w in ensemble.weights)
    extra["early_exit"] = ensemble.early_exit
    return Fitted(ensemble, proba, list(labels), classes, params=extra)


def choose_weights(blocks: list[np.ndarray], labels: list[str], classes: list[str]) -> list[float]:
    """Grid search over the weight simplex (step 0.1) on out-of-fold probabilities."""
    y = np.asarray([classes.index(label) for label in labels])
    best: tuple[float, float] = (-1.0, np.inf)
    chosen = [1.0 / len(blocks)] * len(blocks)
    for weights in _simplex(len(blocks), 10):
        proba = sum(w * b for w, b in zip(weights, blocks, strict=True))
        accuracy = float((proba.argmax(axis=1) == y).mean())
        log_loss = float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None)).mean())
        if (accuracy, -log_loss) > (best[0], -best[1]):
            best, chosen = (accuracy, log_loss), list(weights)
    return chosen


def _simplex(n: int, steps: int) -> list[tuple[float, ...]]:
    if n == 1:
        return [(1.0,)]
    out = []
    for i in range(1, steps):
        for rest in _simplex(n - 1, steps - i):
            out.append((i / steps, *(r * (steps - i) / steps for r in rest)))
    return out

"""Held-out metrics, computed with scikit-learn from predicted probabilities.

Always called on rows the model did not train on. Besides accuracy and F1,
it reports what a front desk experiences: how many inquiries the model
routes on its own at the review threshold, and how often those are right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Weighted gap between confidence and accuracy over equal-width confidence bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(total)


def heldout_metrics(
    y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str], review_threshold: float
) -> dict[str, Any]:
    labels = list(labels)
    y_true = np.asarray(y_true)
    best = proba.argmax(axis=1)
    y_pred = np.asarray(labels)[best]
    confidence = proba.max(axis=1)
    correct = y_pred == y_true
    auto = confidence >= review_threshold
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    present = [i for i, s in enumerate(support) if s > 0]
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=[labels[i] for i in present], average="macro",
                                   zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        "ece": expected_calibration_error(confidence, correct.astype(float)),
        "review_threshold": float(review_threshold),
        "review_share": float(1.0 - auto.mean()),
        "auto_accuracy": float(correct[auto].mean()) if auto.any() else float("nan"),
        "per_category": {
            labels[i]: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                        "support": int(support[i])}
            for i in present
        },
    }


def choose_review_threshold(y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str],
                            target_precision: float) -> float:
    """Lowest confidence at which the inquiries routed automatically are right often enough.

    Computed on out-of-fold predictions of the training rows, never on the
    test split, so the test metrics at this threshold stay honest.
    """
    y_pred = np.asarray(labels)[proba.argmax(axis=1)]
    confidence = proba.max(axis=1)
    correct = (y_pred == np.asarray(y_true)).astype(float)
    order = np.argsort(-confidence)
    running = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(running >= target_precision)
    if len(ok) == 0:
        return 1.0
    return float(round(confidence[order][ok[-1]], 4))

"""Probability averaging over several fitted estimators (any backends).

With `early_exit`, members run in order and a text leaves the average as
soon as its category is settled: when the weighted probabilities so far put
its top category ahead of the runner-up by more than the weight of the
members still to come, no later member can change the top category (each
adds at most its weight to any one category). Such a text gets the average
of the members that ran. Why: the served default pairs a cheap TF-IDF model
(weight 0.7) with a sentence encoder that costs three times as much, and on
the corpus's test texts the TF-IDF model alone settles 84 % of them; their
category, and so every routing decision, is the same as the full average's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from madoguchi.steps import Steps, proba_steps, run_steps

_TIE_TOLERANCE = 1e-9  # float rounding in the sums; a margin this close to the remaining weight goes on averaging


def settled(partial: np.ndarray, remaining: float) -> np.ndarray:
    """Rows of weighted probabilities whose top category members worth `remaining` more can no longer change."""
    if partial.shape[1] < 2:
        return np.ones(len(partial), dtype=bool)
    top_two = np.partition(partial, -2, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0] > remaining + _TIE_TOLERANCE


class AveragingEnsemble:
    def __init__(self, members: Sequence[Any], weights: Sequence[float] | None = None,
                 early_exit: bool = False) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = list(members)
        weights = list(weights) if weights is not None else [1.0] * len(self.members)
        if len(weights) != len(self.members) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"weights {weights} do not fit {len(self.members)} members")
        self.weights = np.asarray(weights, dtype=float) / sum(weights)
        self.early_exit = early_exit
        self.classes_ = np.asarray(sorted({str(c) for m in self.members for c in m.classes_}))
        index = {c: i for i, c in enumerate(self.classes_)}
        self._columns = [np.asarray([index[str(c)] for c in m.classes_]) for m in self.members]

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"early_exit": False, **state})  # pickled before early exits existed

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return run_steps(self.predict_proba_steps(texts))

    def predict_proba_steps(self, texts: Sequence[str]) -> Steps:
        out = np.zeros((len(texts), len(self.classes_)))
        rows = np.arange(len(texts))  # the texts still being averaged
        spent = 0.0
        for member, weight, columns in zip(self.members, self.weights, self._columns, strict=True):
            if not len(rows):
                break
            if len(rows) == len(texts):
                out[:, columns] += weight * (yield from proba_steps(member, texts))
            else:
                out[np.ix_(rows, columns)] += weight * (yield from proba_steps(member, [texts[r] for r in rows]))
            spent += weight
            rows = self._exit(out, rows, spent)
        return out

    def combine(self, probas: Sequence[np.ndarray]) -> np.ndarray:
        """What `predict_proba` gives from the members' probabilities (columns in `classes_` order), for
        training to choose its review threshold on the numbers the model will serve."""
        out = np.zeros_like(probas[0], dtype=float)
        rows = np.arange(len(out))
        spent = 0.0
        for weight, proba in zip(self.weights, probas, strict=True):
            out[rows] += weight * proba[rows]
            spent += weight
            rows = self._exit(out, rows, spent)
        return out

    def _exit(self, out: np.ndarray, rows: np.ndarray, spent: float) -> np.ndarray:
        """The rows still open after members of weight `spent`; the settled ones leave with their average."""
        if not self.early_exit:
            return rows
        done = settled(out[rows], 1.0 - spent)
        out[rows[done]] /= spent
        return rows[~done]

    def save(self, directory: Path) -> dict[str, Any]:
        from madoguchi.estimators import save_estimator

        names = []
        for i, member in enumerate(self.members):
            name = f"member{i}"
            save_estimator(member, directory / name)
            names.append(name)
        return {"kind": "ensemble", "members": names, "weights": self.weights.tolist(), "early_exit": self.early_exit}

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> AveragingEnsemble:
        from madoguchi.estimators import load_estimator

        return cls([load_estimator(directory / name) for name in manifest["members"]], manifest["weights"],
                   bool(manifest.get("early_exit", False)))

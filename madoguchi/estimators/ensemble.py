"""Probability averaging over several fitted estimators (any backends)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from madoguchi.steps import Steps, proba_steps, run_steps


class AveragingEnsemble:
    def __init__(self, members: Sequence[Any], weights: Sequence[float] | None = None) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = list(members)
        weights = list(weights) if weights is not None else [1.0] * len(self.members)
        if len(weights) != len(self.members) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"weights {weights} do not fit {len(self.members)} members")
        self.weights = np.asarray(weights, dtype=float) / sum(weights)
        self.classes_ = np.asarray(sorted({str(c) for m in self.members for c in m.classes_}))
        index = {c: i for i, c in enumerate(self.classes_)}
        self._columns = [np.asarray([index[str(c)] for c in m.classes_]) for m in self.members]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return run_steps(self.predict_proba_steps(texts))

    def predict_proba_steps(self, texts: Sequence[str]) -> Steps:
        out = np.zeros((len(texts), len(self.classes_)))
        for member, weight, columns in zip(self.members, self.weights, self._columns, strict=True):
            proba = yield from proba_steps(member, texts)
            out[:, columns] += weight * proba
        return out

    def save(self, directory: Path) -> dict[str, Any]:
        from madoguchi.estimators import save_estimator

        names = []
        for i, member in enumerate(self.members):
            name = f"member{i}"
            save_estimator(member, directory / name)
            names.append(name)
        return {"kind": "ensemble", "members": names, "weights": self.weights.tolist()}

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> AveragingEnsemble:
        from madoguchi.estimators import load_estimator

        return cls([load_estimator(directory / name) for name in manifest["members"]], manifest["weights"])

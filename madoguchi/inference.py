"""From a model's probabilities to an answer a front desk can act on.

Shared by the HTTP service and the CLI's batch `predict`, so both give the
same category, confidence, review flag and route for the same text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from madoguchi.routing import Department, RoutingTable, UnknownMunicipalityError
from madoguchi.taxonomy import OUT_OF_SCOPE, Taxonomy
from madoguchi.text import prepare


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    confidence: float
    department: Department | None


@dataclass(frozen=True)
class Classification:
    category: Candidate | None  # None when the text is out of scope
    confidence: float
    alternatives: list[Candidate]
    needs_review: bool
    review_reason: str | None  # "low_confidence" | "out_of_scope" | None
    municipality: str | None


class LabelledModel(Protocol):
    """What answering needs of a model: its labels and probabilities over prepared texts.

    Both the MLflow pyfunc wrapper (CLI, training) and the MLflow-free served
    model (service) offer it.
    """

    @property
    def labels(self) -> list[str]: ...

    def predict_proba(self, prepared_texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    run_id: str | None
    review_threshold: float
    taxonomy_version: int
    backend: str


class Classifier:
    """A loaded model plus the taxonomy and routing tables it answers with."""

    def __init__(
        self,
        model: LabelledModel,
        info: ModelInfo,
        taxonomy: Taxonomy,
        routing: dict[str, RoutingTable],
        max_chars: int,
    ) -> None:
        if info.taxonomy_version != taxonomy.version:
            raise ValueError(
                f"model {info.name} v{info.version} was trained on taxonomy v{info.taxonomy_version}, "
                f"but the service loads taxonomy v{taxonomy.version}"
            )
        unknown = [label for label in model.labels if label not in taxonomy.labels]
        if unknown:
            raise ValueError(f"model {info.name} v{info.version} predicts labels not in the taxonomy: {unknown}")
        self.model = model
        self.info = info
        self.taxonomy = taxonomy
        self.routing = routing
        self.max_chars = max_chars
        self._labels = model.labels
        self._names = [taxonomy.name(label) for label in self._labels]

    @property
    def labels(self) -> list[str]:
        """Label codes in the column order of the model's probabilities."""
        return self._labels

    @property
    def names(self) -> list[str]:
        return self._names

    def table(self, municipality: str | None) -> RoutingTable | None:
        if municipality is None:
            return None
        try:
            return self.routing[municipality]
        except KeyError:
            raise UnknownMunicipalityError(municipality) from None

    def prepare(self, text: str) -> str:
        return prepare(text, self.max_chars)

    def classify(self, texts: Sequence[str], municipality: str | None = None, top_k: int = 3) -> list[Classification]:
        """Classify raw texts; raises TextError for the first unusable one, UnknownMunicipalityError first of all."""
        table = self.table(municipality)
        return self.classify_prepared([self.prepare(t) for t in texts], table, top_k)

    def classify_prepared(
        self, prepared: Sequence[str], table: RoutingTable | None, top_k: int = 3
    ) -> list[Classification]:
        if not prepared:
            return []
        return self.answers(self.model.predict_proba(prepared), table, top_k)

    def answers(self, proba: np.ndarray, table: RoutingTable | None, top_k: int = 3) -> list[Classification]:
        """Answers from probabilities already computed (the service batches model calls across requests)."""
        order = np.argsort(-proba, axis=1)[:, : top_k + 1]
        # Python numbers from here on: a numpy scalar per look-up cost more than the rest of the answer.
        return [self._answer(row, ranks, table) for row, ranks in zip(proba.tolist(), order.tolist(), strict=True)]

    def _candidate(self, index: int, confidence: float, table: RoutingTable | None) -> Candidate:
        code = self._labels[index]
        department = table.department_for(code) if table is not None and code != OUT_OF_SCOPE else None
        return Candidate(code, self._names[index], round(confidence, 4), department)

    def _answer(self, row: list[float], ranks: list[int], table: RoutingTable | None) -> Classification:
        best = ranks[0]
        confidence = row[best]
        out_of_scope = self._labels[best] == OUT_OF_SCOPE
        alternatives = [self._candidate(i, row[i], table) for i in ranks[1:] if self._labels[i] != OUT_OF_SCOPE]
        if out_of_scope:
            reason: str | None = "out_of_scope"
        elif confidence < self.info.review_threshold:
            reason = "low_confidence"
        else:
            reason = None
        return Classification(
            category=None if out_of_scope else self._candidate(best, confidence, table),
            confidence=round(confidence, 4),
            alternatives=alternatives[: len(ranks) - 1],
            needs_review=reason is not None,
            review_reason=reason,
            municipality=table.municipality if table else None,
        )

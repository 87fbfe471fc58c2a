"""Batch classification of a CSV file: the path by which outside data is evaluated.

Vectorised end to end (one predict_proba call per chunk, answers assembled
with numpy) because a night batch re-routes a year of e-mails. Input columns
are kept as they are; rows whose text cannot be classified get an `error`
code instead of stopping the run, and a file that cannot be read at all is
refused with its name (and line, where the CSV parser knows it).
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from madoguchi.inference import Classifier
from madoguchi.routing import UnknownMunicipalityError
from madoguchi.taxonomy import OUT_OF_SCOPE
from madoguchi.text import TextError

CHUNK = 4096
OUTPUT_COLUMNS = ("code", "name", "confidence", "needs_review", "department", "error")


class BatchInputError(ValueError):
    """The input file cannot be used; the message names the file."""


@dataclass
class BatchStats:
    rows: int
    needs_review: int
    errors: int
    seconds: float


def read_csv(path: Path, encoding: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    except FileNotFoundError:
        raise BatchInputError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        other = "cp932" if encoding.lower().replace("-", "") in ("utf8", "utf8sig") else "utf-8"
        raise BatchInputError(f"{path}: not readable as {encoding} ({exc.reason} at byte {exc.start}); "
                              f"try --encoding {other}") from None
    except pd.errors.ParserError as exc:
        raise BatchInputError(f"{path}: malformed CSV: {exc}".strip()) from None
    except pd.errors.EmptyDataError:
        raise BatchInputError(f"{path}: the file is empty") from None


def classify_frame(classifier: Classifier, texts: list[str], municipality: str | None,
                   progress: bool = False) -> pd.DataFrame:
    """One output row per text, with the columns of OUTPUT_COLUMNS."""
    from tqdm.auto import tqdm

    try:
        table = classifier.table(municipality)
    except UnknownMunicipalityError:
        raise BatchInputError(f"unknown municipality {municipality!r}; known: {', '.join(classifier.routing)}") \
            from None
    n = len(texts)
    prepared: list[str] = []
    ok = np.ones(n, dtype=bool)
    error = np.full(n, "", dtype=object)
    for i, text in enumerate(texts):
        try:
            prepared.append(classifier.prepare(text))
        except TextError as exc:
            ok[i] = False
            error[i] = exc.code
    labels = np.asarray(classifier.labels, dtype=object)
    names = np.asarray(classifier.names, dtype=object)
    departments = np.asarray([
        table.department_for(code).name if table is not None and code != OUT_OF_SCOPE else "" for code in labels
    ], dtype=object)
    best = np.zeros(len(prepared), dtype=int)
    confidence = np.zeros(len(prepared))
    for start in tqdm(range(0, len(prepared), CHUNK), desc="classifying", unit="chunk", disable=not progress):
        proba = classifier.model.predict_proba(prepared[start:start + CHUNK])
        best[start:start + CHUNK] = proba.argmax(axis=1)
        confidence[start:start + CHUNK] = proba.max(axis=1)
    out = pd.DataFrame({
        "code": "", "name": "", "confidence": np.nan, "needs_review": True, "department": "", "error": error,
    }, index=range(n))
    if len(prepared):
        rows = np.flatnonzero(ok)
        out.loc[rows, "code"] = labels[best]
        out.loc[rows, "name"] = names[best]
        out.loc[rows, "confidence"] = np.round(confidence, 4)
        out.loc[rows, "needs_review"] = (confidence < classifier.info.review_threshold) | (labels[best] == OUT_OF_SCOPE)
        out.loc[rows, "department"] = departments[best]
    return out


def predict_csv(classifier: Classifier, input_path: Path, output_path: Path, text_column: str = "text",
                municipality: str | None = None, encoding: str = "utf-8", progress: bool = False) -> BatchStats:
    started = time.perf_counter()
    frame = read_csv(input_path, encoding)
    if text_column not in frame.columns:
        raise BatchInputError(f"{input_path}: no column {text_column!r}; columns are {', '.join(frame.columns)}")
    clash = [c for c in OUTPUT_COLUMNS if c in frame.columns]
    if clash:
        raise BatchInputError(f"{input_path}: already has output column(s) {', '.join(clash)}; rename them first")
    answers = classify_frame(classifier, frame[text_column].tolist(), municipality, progress)
    result = pd.concat([frame, answers], axis=1)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_path.with_name(output_path.name + ".tmp")
    result.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL, encoding="utf-8")
    tmp.replace(output_path)  # never leave a half-written output behind
    return BatchStats(rows=len(result), needs_review=int(answers.needs_review.sum()),
                      errors=int((answers.error != "").sum()), seconds=time.perf_counter() - started)

"""Batch classification of a CSV file: the path by which outside data is evaluated.

Vectorised end to end (one predict_proba call per chunk, answers assembled
with numpy) and spread over forked worker processes, one per core, because a
night batch re-routes a year of e-mails. Input columns
are kept as they are; rows whose text cannot be classified get an `error`
code instead of stopping the run, and a file that cannot be read at all is
refused with its name (and line, where the CSV parser knows it).
"""

from __future__ import annotations

import csv
import gc
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from madoguchi.estimators import warm_up
from madoguchi.inference import Classifier, LabelledModel
from madoguchi.routing import UnknownMunicipalityError
from madoguchi.taxonomy import OUT_OF_SCOPE
from madoguchi.text import TextError, prepare

CHUNK = 2048
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


# The model a worker process classifies with: set before forking, inherited by the pool's processes.
_WORKER: tuple[LabelledModel, int] | None = None


def _classify_chunk(texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Best label index (-1 for an unusable text), its probability, and the error code of each text."""
    assert _WORKER is not None
    model, max_chars = _WORKER
    prepared, errors = [], []
    for text in texts:
        try:
            prepared.append(prepare(text, max_chars))
            errors.append("")
        except TextError as exc:
            errors.append(exc.code)
    best = np.full(len(texts), -1)
    confidence = np.full(len(texts), np.nan)
    if prepared:
        ok = np.asarray([not e for e in errors])
        proba = model.predict_proba(prepared)
        best[ok] = proba.argmax(axis=1)
        confidence[ok] = proba.max(axis=1)
    return best, confidence, errors


def default_workers() -> int:
    """One process per core, except for torch models: torch's OpenMP threads do not survive a fork."""
    return 1 if "torch" in sys.modules else (os.cpu_count() or 1)


def _chunks(classifier: Classifier, texts: list[str], workers: int) -> Iterator[tuple]:
    """Results chunk by chunk, in order; in `workers` forked processes when there is enough to share."""
    global _WORKER
    _WORKER = (classifier.model, classifier.max_chars)
    pieces = [texts[start:start + CHUNK] for start in range(0, len(texts), CHUNK)]
    if not pieces:
        return
    # Load here whatever the model loads lazily (tokeniser dictionary, encoder session and tables), which
    # the workers then share through fork instead of each loading it again.
    warm_up(classifier.model)
    # The model stays for the whole run: keep the garbage collector from walking it again and again
    # (in the workers, from touching its pages, which would copy them). py-spy: 4 % of a one-process run.
    gc.collect()
    gc.freeze()
    if workers <= 1 or len(pieces) < 2:
        yield from map(_classify_chunk, pieces)
        return
    with multiprocessing.get_context("fork").Pool(min(workers, len(pieces))) as pool:
        yield from pool.imap(_classify_chunk, pieces)


def classify_frame(classifier: Classifier, texts: list[str], municipality: str | None,
                   progress: bool = False, workers: int | None = None) -> pd.DataFrame:
    """One output row per text, with the columns of OUTPUT_COLUMNS."""
    from tqdm.auto import tqdm

    try:
        table = classifier.table(municipality)
    except UnknownMunicipalityError:
        raise BatchInputError(f"unknown municipality {municipality!r}; known: {', '.join(classifier.routing)}") \
            from None
    labels = np.asarray(classifier.labels, dtype=object)
    names = np.asarray(classifier.names, dtype=object)
    departments = np.asarray([
        table.department_for(code).name if table is not None and code != OUT_OF_SCOPE else "" for code in labels
    ], dtype=object)
    best, confidence, error = np.full(len(texts), -1), np.full(len(texts), np.nan), []
    done = 0
    with tqdm(total=len(texts), desc="classifying", unit="text", disable=not progress) as bar:
        for chunk_best, chunk_confidence, chunk_error in _chunks(classifier, texts, workers or default_workers()):
            best[done:done + len(chunk_best)] = chunk_best
            confidence[done:done + len(chunk_best)] = chunk_confidence
            error.extend(chunk_error)
            done += len(chunk_best)
            bar.update(len(chunk_best))
    ok = best >= 0
    out = pd.DataFrame({
        "code": "", "name": "", "confidence": np.nan, "needs_review": True, "department": "",
        "error": np.asarray(error, dtype=object),
    }, index=range(len(texts)))
    if ok.any():
        rows, chosen = np.flatnonzero(ok), best[ok]
        out.loc[rows, "code"] = labels[chosen]
        out.loc[rows, "name"] = names[chosen]
        out.loc[rows, "confidence"] = np.round(confidence[ok], 4)
        out.loc[rows, "needs_review"] = (confidence[ok] < classifier.info.review_threshold) | (
            labels[chosen] == OUT_OF_SCOPE)
        out.loc[rows, "department"] = departments[chosen]
    return out


def predict_csv(classifier: Classifier, input_path: Path, output_path: Path, text_column: str = "text",
                municipality: str | None = None, encoding: str = "utf-8", progress: bool = False,
                workers: int | None = None) -> BatchStats:
    started = time.perf_counter()
    frame = read_csv(input_path, encoding)
    if text_column not in frame.columns:
        raise BatchInputError(f"{input_path}: no column {text_column!r}; columns are {', '.join(frame.columns)}")
    clash = [c for c in OUTPUT_COLUMNS if c in frame.columns]
    if clash:
        raise BatchInputError(f"{input_path}: already has output column(s) {', '.join(clash)}; rename them first")
    answers = classify_frame(classifier, frame[text_column].tolist(), municipality, progress, workers)
    result = pd.concat([frame, answers], axis=1)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_path.with_name(output_path.name + ".tmp")
    result.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL, encoding="utf-8")
    tmp.replace(output_path)  # never leave a half-written output behind
    return BatchStats(rows=len(result), needs_review=int(answers.needs_review.sum()),
                      errors=int((answers.error != "").sum()), seconds=time.perf_counter() - started)

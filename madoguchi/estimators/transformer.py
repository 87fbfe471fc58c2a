"""A fine-tuned Hugging Face encoder (AutoModelForSequenceClassification) as a text classifier.

torch and transformers are imported only when a model of this kind is
loaded. The folder holds what `save_pretrained` writes for the model and its
tokenizer (for Japanese BERT models a BertJapaneseTokenizer: fugashi with
unidic-lite, then WordPiece), plus the label order and a temperature fitted
on validation data so that softmax confidences are calibrated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HF_DIR = "hf"


def device_name() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class TransformerClassifier:
    def __init__(self, model: Any, tokenizer: Any, labels: Sequence[str], temperature: float = 1.0,
                 max_length: int = 128, batch_size: int = 64) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.classes_ = np.asarray(list(labels))
        self.temperature = float(temperature)
        self.max_length = max_length
        self.batch_size = batch_size

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self.model.eval()
        device = next(self.model.parameters()).device
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(list(texts[start:start + self.batch_size]), truncation=True, padding=True,
                                       max_length=self.max_length, return_tensors="pt").to(device)
                out.append(self.model(**batch).logits.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        z = self.logits(texts) / self.temperature
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> dict[str, Any]:
        self.model.save_pretrained(directory / HF_DIR)
        self.tokenizer.save_pretrained(directory / HF_DIR)
        return {"kind": "transformer", "dir": HF_DIR, "labels": [str(c) for c in self.classes_],
                "temperature": self.temperature, "max_length": self.max_length}

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> TransformerClassifier:
        try:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            raise ImportError("transformer models need `pip install 'madoguchi[neural]'`") from exc
        path = str(directory / manifest["dir"])
        model = AutoModelForSequenceClassification.from_pretrained(path).to(device_name())
        tokenizer = AutoTokenizer.from_pretrained(path)
        return cls(model, tokenizer, manifest["labels"], manifest["temperature"], manifest["max_length"])

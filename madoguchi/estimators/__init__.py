"""Fitted estimators of every backend, saved to and loaded from one artifact folder.

A model version's `estimator` artifact is a folder with a small manifest,
`estimator.json`, naming its kind. Loading dispatches on the kind and
imports heavy libraries (torch, transformers, sentence-transformers) only
for the kinds that need them, so a TF-IDF model is served without them.
Every estimator offers scikit-learn's `classes_` and `predict_proba(texts)`.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

MANIFEST = "estimator.json"
WARM_UP_TEXT = "住民票の写しがほしい"


def warm_up(model: Any, text: str = WARM_UP_TEXT) -> None:
    """Load what a model loads on first use (tokeniser dictionary, encoder session and table) now.

    Every member of an ensemble is asked directly: with early exits, a text the
    first member settles never reaches the others, and the first text that did
    would pay for loading the encoder (and forked workers would each load it).
    """
    estimator = getattr(model, "estimator", model)  # the served or pyfunc wrapper, or the estimator itself
    for member in getattr(estimator, "members", [estimator]):
        member.predict_proba([text])


def save_estimator(estimator: Any, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if hasattr(estimator, "save"):
        manifest = estimator.save(directory)
    else:
        # Plain pickle, not joblib: joblib unpickles through the pure-Python
        # Unpickler, which took a second to read a 210k-term vocabulary.
        with (directory / "estimator.pkl").open("wb") as handle:
            pickle.dump(estimator, handle, protocol=pickle.HIGHEST_PROTOCOL)
        manifest = {"kind": "pickle", "file": "estimator.pkl"}
    (directory / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return directory


def load_estimator(path: Path) -> Any:
    path = Path(path)
    if path.is_file():  # a bare joblib file (models logged before manifests existed)
        import joblib

        return joblib.load(path)
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    kind = manifest.get("kind")
    if kind == "pickle":
        with (path / manifest["file"]).open("rb") as handle:
            return pickle.load(handle)
    if kind == "joblib":  # models saved before plain pickle
        import joblib

        return joblib.load(path / manifest["file"])
    if kind == "embedding":
        from madoguchi.estimators.embedding import EmbeddingClassifier

        return EmbeddingClassifier.load(path, manifest)
    if kind == "transformer":
        from madoguchi.estimators.transformer import TransformerClassifier

        return TransformerClassifier.load(path, manifest)
    if kind == "ensemble":
        from madoguchi.estimators.ensemble import AveragingEnsemble

        return AveragingEnsemble.load(path, manifest)
    raise ValueError(f"{path / MANIFEST}: unknown estimator kind {kind!r}")

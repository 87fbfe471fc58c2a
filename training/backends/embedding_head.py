"""Sentence embeddings (USE multilingual by default, or any sentence-transformers model) plus a linear head.

Pretrained multilingual embeddings carry meaning beyond the words the corpus
happens to use, which is what should help on residents' own wording; the
head is a multinomial logistic regression, whose probabilities are usable
as confidences without extra calibration.
"""

from __future__ import annotations

from typing import Any

from sklearn.linear_model import LogisticRegression

from madoguchi.estimators.embedding import EmbeddingClassifier, make_encoder
from madoguchi.estimators.linear import SoftmaxHead
from madoguchi.paths import PROJECT_ROOT
from training.backends import FitContext, Fitted, out_of_fold
from training.embedding_cache import EmbeddingCache

DEFAULTS: dict[str, Any] = {"encoder": "use", "C": 10.0, "max_iter": 2000}


def build_head(params: dict[str, Any], seed: int = 0) -> LogisticRegression:
    return LogisticRegression(C=params["C"], max_iter=params["max_iter"], class_weight="balanced",
                              random_state=seed)


def fit(params: dict[str, Any], texts: list[str], labels: list[str], ctx: FitContext) -> Fitted:
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown embedding-head params {sorted(unknown)}; expected some of {sorted(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    encoder = make_encoder(str(p["encoder"]))
    cache = EmbeddingCache((ctx.cache_dir or PROJECT_ROOT / ".cache") / "embeddings.sqlite")
    try:
        features, computed = cache.encode(encoder, texts, progress=ctx.progress)
    finally:
        cache.close()
    proba, classes = out_of_fold(lambda: build_head(p, ctx.seed), features, labels, ctx)
    head = SoftmaxHead.from_logistic(build_head(p, ctx.seed).fit(features, labels))
    return Fitted(EmbeddingClassifier(encoder, head), proba, list(labels), classes,
                  params={"encoder_id": encoder.id, "embeddings_computed": computed,
                          "embeddings_cached": len(texts) - computed})

"""Every backend trains, logs, registers, loads back by alias and predicts — one pyfunc format for all."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from madoguchi.estimators.ensemble import AveragingEnsemble
from madoguchi.registry import load_by_alias, load_uri
from madoguchi.settings import Settings
from madoguchi.taxonomy import default_taxonomy
from madoguchi.tracking import configure
from tests.conftest import FIXTURES, SMALL_CORPUS, TFIDF
from training.config import TrainConfig
from training.corpus import load_corpus
from training.train import train

pytestmark = pytest.mark.slow


def store(tmp_path, name: str) -> Settings:
    return Settings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=tmp_path / "artifacts",
                    corpus_path=SMALL_CORPUS, cache_dir=tmp_path / "cache", model_name=name)


def config(tmp_path, data: dict) -> TrainConfig:
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return TrainConfig.from_yaml(path)


def check_served(settings: Settings, backend: str) -> None:
    model, info = load_by_alias(settings)
    assert info.backend == backend
    proba = model.predict_proba(["粗大ごみを出したい", "住民票の写しがほしい"])
    assert proba.shape == (2, 32)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_embedding_head_caches_embeddings_between_runs(tmp_path):
    settings = store(tmp_path, "emb")
    cfg = config(tmp_path, {"name": "emb", "backend": "embedding-head", "params": {"encoder": "use", "C": 10.0}})
    first = train(cfg, settings, progress=False)
    assert first.metrics["macro_f1"] > 0.3
    check_served(settings, "embedding-head")
    import mlflow

    configure(settings)
    params = mlflow.get_run(first.run_id).data.params
    assert int(params["fit.embeddings_computed"]) > 0
    second = train(cfg, settings, progress=False)
    assert mlflow.get_run(second.run_id).data.params["fit.embeddings_computed"] == "0"
    assert second.alias == "challenger"


def test_ensemble_averages_members(tmp_path):
    settings = store(tmp_path, "ens")
    cfg = TrainConfig.from_yaml(TFIDF.parent / "ensemble.yaml")
    result = train(cfg, settings, progress=False)
    assert result.metrics["macro_f1"] > 0.3
    model, _ = load_by_alias(settings)
    assert type(model.estimator).__name__ == "AveragingEnsemble" and len(model.estimator.members) == 2
    check_served(settings, "ensemble")
    # As steps (the service pipelines them): one call handed out — the encoder's ONNX Runtime runs, GIL-free —
    # and, for a batch of several encoder micro-batches, each text's probabilities as if it came alone.
    texts = [f"粗大ごみを出したい。{'住民票の写しがほしい' * (i % 7)}" for i in range(40)]
    full = AveragingEnsemble(model.estimator.members, model.estimator.weights)  # every text through both members
    steps = full.predict_proba_steps(texts)
    call = next(steps)
    with pytest.raises(StopIteration) as done:
        steps.send(call())
    alone = np.vstack([full.predict_proba([text]) for text in texts])
    np.testing.assert_allclose(done.value.value, alone, rtol=1e-5, atol=1e-6)  # float32 TF-IDF weights
    # The default config exits early where the TF-IDF member settles a text: the same categories.
    assert model.estimator.early_exit
    corpus = [r.text for r in load_corpus(SMALL_CORPUS, default_taxonomy())]
    np.testing.assert_array_equal(model.estimator.predict_proba(corpus).argmax(axis=1),
                                  full.predict_proba(corpus).argmax(axis=1))


def test_transformer_from_scratch_trains_registers_and_loads(tmp_path):
    settings = store(tmp_path, "bert")
    result = train(TrainConfig.from_yaml(FIXTURES / "transformer-test.yaml"), settings, progress=False)
    assert 0.0 <= result.metrics["macro_f1"] <= 1.0
    model, _ = load_by_alias(settings)
    estimator = model.estimator
    assert type(estimator).__name__ == "TransformerClassifier"
    assert type(estimator.tokenizer).__name__ == "BertJapaneseTokenizer"
    assert estimator.temperature > 0
    check_served(settings, "transformer")


def test_unknown_backend_params_are_named(tmp_path):
    settings = store(tmp_path, "bad")
    cfg = config(tmp_path, {"name": "bad", "backend": "tfidf-linear", "params": {"ngram": 3}})
    with pytest.raises(ValueError, match=r"unknown tfidf-linear params \['ngram'\]"):
        train(cfg, settings, progress=False)


def test_load_uri_accepts_alias_and_version(tmp_path):
    settings = store(tmp_path, "uri")
    train(TrainConfig.from_yaml(TFIDF), settings, progress=False)
    configure(settings)
    _, by_alias = load_uri("models:/uri@champion")
    _, by_version = load_uri("models:/uri/1")
    assert by_alias.version == by_version.version == "1"

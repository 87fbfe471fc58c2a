"""Integration: train on a small labelled file into a temporary SQLite store, register, load by alias, classify."""

from __future__ import annotations

import json

import mlflow
import pytest
from mlflow import MlflowClient

from madoguchi.inference import Classifier
from madoguchi.registry import load_by_alias
from madoguchi.routing import load_routing_tables
from madoguchi.taxonomy import load_taxonomy
from madoguchi.tracking import configure
from tests.conftest import TFIDF
from training.config import ConfigError, TrainConfig

pytestmark = pytest.mark.slow


def test_first_version_becomes_champion_with_metadata(trained_store):
    settings, result = trained_store.settings, trained_store.result
    configure(settings)
    version = MlflowClient().get_model_version_by_alias(settings.model_name, "champion")
    assert str(version.version) == result.version == "1"
    model_info = mlflow.models.get_model_info(f"models:/{settings.model_name}/1")
    assert model_info.metadata["backend"] == TrainConfig.from_yaml(settings.default_config).backend
    assert model_info.metadata["taxonomy_version"] == 1
    assert 0 < float(model_info.metadata["review_threshold"]) <= 1
    assert model_info.signature.inputs.input_names() == ["text"]
    assert len(json.loads(model_info.metadata["labels"])) == 32


def test_run_logs_params_data_heldout_metrics_and_confusion_matrix(trained_store):
    configure(trained_store.settings)
    client = MlflowClient()
    run = client.get_run(trained_store.result.run_id)
    assert run.data.params["backend"] == TrainConfig.from_yaml(trained_store.settings.default_config).backend
    assert int(run.data.params["n_test"]) > 0
    for key in ("accuracy", "macro_f1", "weighted_f1", "ece", "review_share", "f1.juki"):
        assert 0.0 <= run.data.metrics[key] <= 1.0, key
    contexts = {i.tags[0].value for i in run.inputs.dataset_inputs}
    assert contexts == {"training", "evaluation"}
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert {"evaluation/report.html", "evaluation/report.json", "evaluation/confusion.png"} <= artifacts
    # the default model's encoder runs on ONNX Runtime: recorded with the packages the version needs
    assert {"version.onnxruntime", "version.sentencepiece", "version.scikit-learn"} <= set(run.data.tags)


def test_metrics_are_measured_on_test_rows_only(trained_store):
    configure(trained_store.settings)
    run = MlflowClient().get_run(trained_store.result.run_id)
    assert int(run.data.params["n_test"]) == trained_store.result.metrics["n"]
    assert int(run.data.params["n_train"]) > trained_store.result.metrics["n"]


def test_loaded_champion_classifies_and_routes(trained_store):
    settings = trained_store.settings
    model, info = load_by_alias(settings)
    taxonomy = load_taxonomy(settings.taxonomy_path)
    classifier = Classifier(model, info, taxonomy, load_routing_tables(settings.routing_dir, taxonomy), 4000)
    result = classifier.classify(["住民票の写しを取りたい"], "takamatsu", top_k=3)[0]
    assert result.category is not None and result.category.code == "juki"
    assert result.category.department.name == "市民局市民課"
    assert len(result.alternatives) == 3
    assert info.version == "1"


def test_pyfunc_predict_returns_a_probability_per_label(trained_store):
    import pandas as pd

    configure(trained_store.settings)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{trained_store.settings.model_name}@champion")
    out = pyfunc.predict(pd.DataFrame({"text": ["粗大ごみを出したい", "児童手当の申請"]}))
    assert out.shape == (2, 32)
    assert out.sum(axis=1).round(6).tolist() == [1.0, 1.0]
    assert out.loc[0].idxmax() == "gomi"


def test_second_training_becomes_challenger(trained_store, tmp_path):
    from training.train import train

    settings = trained_store.settings.model_copy(update={"model_name": "second-test-model"})
    config = TrainConfig.from_yaml(TFIDF)
    first = train(config, settings, progress=False)
    second = train(config, settings, progress=False)
    assert (first.alias, second.alias) == ("champion", "challenger")
    assert int(second.version) == int(first.version) + 1


def test_bad_config_names_file_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nbackend: tfidf-linear\nlearning_rate: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown keys \\['learning_rate'\\]"):
        TrainConfig.from_yaml(path)
    path.write_text("name: x\nbackend: magic\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="backend 'magic' is not known"):
        TrainConfig.from_yaml(path)

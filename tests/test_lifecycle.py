"""The MLflow lifecycle: a real tracking server over HTTP, aliases, and the promotion gate."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from mlflow import MlflowClient

from madoguchi.registry import load_by_alias
from madoguchi.served_model import ModelNotFoundError, load_served, resolve
from madoguchi.settings import Settings
from madoguchi.tracking import configure
from tests.conftest import SMALL_CORPUS, TFIDF, free_port
from training.config import TrainConfig
from training.train import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """`mlflow server` on a free loopback port with its own SQLite backend and artifact folder."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root / 'backend.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, (root / "server.log").read_text()
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("mlflow server did not start")
    yield url, root
    process.terminate()
    process.wait(timeout=20)


def test_train_register_and_load_by_alias_over_http(mlflow_server, tmp_path):
    url, root = mlflow_server
    settings = Settings(tracking_uri=url, corpus_path=SMALL_CORPUS, cache_dir=tmp_path / "cache")
    result = train(TrainConfig.from_yaml(TFIDF), settings, progress=False)
    assert result.alias == "champion"
    model, info = load_by_alias(settings)
    assert info.version == result.version
    assert model.predict_proba(["粗大ごみを出したい"]).shape == (1, 32)
    # the artifacts went through the server into its own artifact folder, not into the project
    assert any((root / "artifacts").rglob("MLmodel"))
    configure(settings)
    run = MlflowClient().get_run(result.run_id)
    assert run.data.tags["git_commit"] and "version.scikit-learn" in run.data.tags

    # the service's way: a child process resolves the alias and downloads the version into the cache once
    served, served_info = load_served(settings)
    assert served_info.version == result.version and served_info.run_id == result.run_id
    assert served.predict_proba(["粗大ごみを出したい"]).tolist() == model.predict_proba(["粗大ごみを出したい"]).tolist()
    found = resolve(settings)
    assert found.path.is_relative_to(settings.cache_dir) and (found.path / "MLmodel").is_file()
    assert resolve(settings).path == found.path


def test_served_model_names_a_missing_alias(tmp_path):
    settings = Settings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", cache_dir=tmp_path / "cache",
                        model_name="nothing-here")
    with pytest.raises(ModelNotFoundError, match="nothing-here"):
        resolve(settings)
    with pytest.raises(ModelNotFoundError, match="nothing-here"):
        resolve(settings, direct=False)


def promote(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {"MLFLOW_TRACKING_URI": settings.tracking_uri, "MADOGUCHI_MODEL_NAME": settings.model_name,
           "MADOGUCHI_ARTIFACT_ROOT": str(settings.artifact_root), "PATH": "/usr/bin:/bin"}
    return subprocess.run([str(Path(sys.executable).parent / "madoguchi"), "promote", "--data", str(SMALL_CORPUS),
                           *args], env=env, capture_output=True, text=True, timeout=300)


def test_gate_passes_equal_or_better_and_refuses_worse_unless_forced(tmp_path):
    settings = Settings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=tmp_path / "artifacts",
                        corpus_path=SMALL_CORPUS, cache_dir=tmp_path / "cache", model_name="gate-test")
    good = TrainConfig.from_yaml(TFIDF)
    assert train(good, settings, progress=False).alias == "champion"

    # the same recipe again: not worse anywhere, so it passes and becomes champion
    assert train(good, settings, progress=False).alias == "challenger"
    proc = promote(settings)
    assert proc.returncode == 0, proc.stderr
    assert "gate passed: v2 is now @champion" in proc.stdout and "macro-F1" in proc.stdout
    client = MlflowClient()
    configure(settings)
    assert str(client.get_model_version_by_alias("gate-test", "champion").version) == "2"
    assert client.get_model_version("gate-test", "2").tags["gate"] == "passed"
    # the service reads the moved alias from the SQLite store directly, and MLflow agrees
    assert resolve(settings).version == "2"
    assert resolve(settings) == resolve(settings, direct=False)

    # a crippled model: far lower F1, the gate refuses it and says why
    bad_path = tmp_path / "bad.yaml"
    bad_path.write_text(yaml.safe_dump({"name": "bad", "backend": "tfidf-linear",
                                        "params": {"C": 0.0001, "char_ngram_max": 1, "word_ngram_max": 1}}))
    train(TrainConfig.from_yaml(bad_path), settings, progress=False)
    proc = promote(settings)
    assert proc.returncode == 1
    assert "gate failed" in proc.stdout and "below the champion's" in proc.stdout
    assert str(client.get_model_version_by_alias("gate-test", "champion").version) == "2"
    tags = client.get_model_version("gate-test", "3").tags
    assert tags["gate"] == "failed" and tags["gate.compared_with"] == "2"

    proc = promote(settings, "--force")
    assert proc.returncode == 0 and "forced" in proc.stdout
    assert str(client.get_model_version_by_alias("gate-test", "champion").version) == "3"
    tags = client.get_model_version("gate-test", "3").tags
    assert tags["gate"] == "forced" and tags["gate.forced"] == "true"
    assert resolve(settings) == resolve(settings, direct=False)
    assert resolve(settings).version == "3"


def test_promote_without_challenger_is_a_clear_error(tmp_path):
    settings = Settings(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=tmp_path / "artifacts",
                        corpus_path=SMALL_CORPUS, model_name="lonely")
    train(TrainConfig.from_yaml(TFIDF), settings, progress=False)
    proc = promote(settings)
    assert proc.returncode == 2 and "no @challenger" in proc.stderr

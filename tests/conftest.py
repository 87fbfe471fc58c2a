"""Shared fixtures: a real MLflow store in a temporary folder with a model trained on a small corpus."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from madoguchi.paths import MODELS_DIR
from madoguchi.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
SMALL_CORPUS = FIXTURES / "small_corpus.jsonl"
# The fastest backend, for tests about the lifecycle rather than about a backend.
TFIDF = MODELS_DIR / "configs" / "tfidf-linear.yaml"


@dataclass
class Store:
    settings: Settings
    env: dict[str, str]
    result: object  # training.train.TrainResult


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def store_settings(root: Path) -> tuple[Settings, dict[str, str]]:
    uri = f"sqlite:///{root / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MADOGUCHI_ARTIFACT_ROOT": str(root / "artifacts"),
           "MADOGUCHI_CORPUS_PATH": str(SMALL_CORPUS)}
    return Settings(tracking_uri=uri, artifact_root=root / "artifacts", corpus_path=SMALL_CORPUS), env


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory) -> Store:
    """Train the default config on the small corpus into a fresh SQLite store; first version is @champion."""
    from training.config import TrainConfig
    from training.train import train

    settings, env = store_settings(tmp_path_factory.mktemp("store"))
    result = train(TrainConfig.from_yaml(settings.default_config), settings, progress=False)
    return Store(settings, env, result)


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path


def start_server(env: dict[str, str], log: Path, extra: tuple[str, ...] = ("--no-train",),
                 timeout: float = 90, ready: str = "/readyz") -> Server:
    """A `madoguchi serve` process, returned once `ready` answers 200 (/healthz: up, with or without a model)."""
    port = free_port()
    handle = log.open("wb")
    process = subprocess.Popen([sys.executable, "-m", "madoguchi.cli", "serve", "--port", str(port), *extra],
                               env=env, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}{ready}", timeout=1).status_code == 200:
                return Server(url, process, log)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server not ready after {timeout} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server(trained_store, tmp_path_factory) -> Iterator[Server]:
    """A real uvicorn process on a free loopback port, serving the store's @champion."""
    env = {**trained_store.env, "MADOGUCHI_ANSWER_LOG_INTERVAL_S": "0.5"}  # summaries within the tests' time
    srv = start_server(env, tmp_path_factory.mktemp("server") / "server.log")
    yield srv
    srv.process.terminate()
    srv.process.wait(timeout=10)

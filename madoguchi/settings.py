"""All runtime configuration in one validated object.

Read from the environment (prefix MADOGUCHI_, plus MLflow's own
MLFLOW_TRACKING_URI), so the same code runs on a laptop with the embedded
SQLite store and in a container pointed at a shared tracking server. Bad
configuration fails at start-up, not on the first request.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from madoguchi.paths import CACHE_DIR, DATASETS_DIR, PROJECT_ROOT
from madoguchi.text import DEFAULT_MAX_CHARS

AnswerLogMode = Literal["summary", "each", "off"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MADOGUCHI_", extra="ignore", protected_namespaces=(), validate_by_name=True
    )

    tracking_uri: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}",
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "MADOGUCHI_TRACKING_URI"),
        description="MLflow tracking and registry store; the default is a SQLite file in the project folder.",
    )
    artifact_root: Path | None = Field(
        default=None,
        description="Where runs of a local SQLite store keep artifacts; default: mlartifacts/ beside the .db file.",
    )
    experiment: str = "madoguchi"
    model_name: str = "madoguchi-inquiry-router"
    model_alias: str = "champion"
    taxonomy_path: Path = DATASETS_DIR / "taxonomy.yaml"
    routing_dir: Path = DATASETS_DIR / "routing"
    corpus_path: Path = DATASETS_DIR / "corpus" / "inquiries.jsonl"
    cache_dir: Path = Field(default=CACHE_DIR, description=(
        "Embedding cache, the compact MeCab dictionary and other rebuildable data."))
    default_config: Path = PROJECT_ROOT / "models" / "configs" / "ensemble.yaml"
    max_text_chars: int = Field(default=DEFAULT_MAX_CHARS, ge=10, le=100_000)
    max_batch: int = Field(default=1000, ge=1, le=100_000)
    max_top_k: int = Field(default=10, ge=1)
    baseline_endpoint: bool = Field(default=False, description="Mount POST /v1/baseline (benchmarks only).")
    access_log: bool = Field(default=False, description=(
        "uvicorn's line per request. Off by default: the service logs what it answers (below), and writing "
        "both took a sixth of a TF-IDF request's time."))
    answer_log: AnswerLogMode = Field(default="summary", description=(
        "What the service logs of its answers (model version, codes, review flags, timings; never the text): "
        "a summary line every `answer_log_interval_s`, a line per request, or nothing."))
    answer_log_interval_s: float = Field(default=60.0, gt=0)
    workers: int = Field(default=1, ge=1, le=64, description=(
        "Server processes. One event loop runs each request's Python, so one process uses about one core; "
        "each further process adds its own copy of the model (~130 MB private memory for the default "
        "ensemble) and its own batching."))
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    @field_validator("taxonomy_path", "routing_dir")
    @classmethod
    def _must_exist(cls, value: Path) -> Path:
        if not value.exists():
            raise ValueError(f"{value} does not exist")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""Training options: one typed, self-validating object per run.

Loaded from `models/configs/*.yaml`; `as_params` flattens it for MLflow so
every run records exactly what produced it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from madoguchi.yamlfile import read_mapping

BACKENDS = ("tfidf-linear", "embedding-head", "transformer", "ensemble")


class ConfigError(ValueError):
    pass


@dataclass
class TrainConfig:
    name: str
    backend: str
    params: dict[str, Any] = field(default_factory=dict)
    # Share of auto-routed inquiries that must be right; the review threshold
    # is the lowest confidence that reaches it on cross-validated training data.
    target_precision: float = 0.9
    # Sources kept out of training so they can serve as outside test data.
    exclude_sources: list[str] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend {self.backend!r} is not known; expected one of {', '.join(BACKENDS)}")
        if not 0 < self.target_precision <= 1:
            raise ConfigError(f"target_precision must be in (0, 1], found {self.target_precision}")

    @classmethod
    def from_yaml(cls, path: Path | str) -> TrainConfig:
        path = Path(path)
        raw = read_mapping(path, ConfigError, "config", "name, backend, params")
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise ConfigError(f"{path}: unknown keys {sorted(unknown)}; expected some of {sorted(known)}")
        try:
            return cls(**raw)
        except TypeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc

    def as_params(self) -> dict[str, Any]:
        flat = {k: v for k, v in asdict(self).items() if k != "params"}
        flat["exclude_sources"] = ",".join(self.exclude_sources)
        flat.update({f"param.{k}": v for k, v in self.params.items()})
        return flat

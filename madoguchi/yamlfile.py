"""Reading the project's YAML files (routing tables, configs, mappings) with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_mapping(path: Path, error: type[Exception], what: str, expected: str) -> dict[str, Any]:
    """The YAML mapping in `path`; otherwise `error("<path>: …")` saying what was expected."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot read {what}: {exc}") from exc
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping with {expected}")
    return raw

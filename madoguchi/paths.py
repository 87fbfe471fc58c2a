"""Where the project's own files live.

The package is installed in editable mode from the project folder, so the
shipped data (taxonomy, routing tables, corpus) is found next to it. A
deployment that moves the data elsewhere sets MADOGUCHI_DATASETS_DIR.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = PROJECT_ROOT / "datasets"
MODELS_DIR = PROJECT_ROOT / "models"
CACHE_DIR = PROJECT_ROOT / ".cache"


def cache_dir() -> Path:
    """MADOGUCHI_CACHE_DIR as Settings reads it, for code inside a loaded model, which has no Settings."""
    return Path(os.environ.get("MADOGUCHI_CACHE_DIR") or CACHE_DIR)

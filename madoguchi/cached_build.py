"""Derived files kept in the cache folder, built once per installation.

Why a helper: several processes may start together on a fresh install (the
service, a `predict` with workers, the tests), and a reader must never see a
half-written or unchecked file. Each file or folder is therefore built under
a temporary name beside its final place and renamed into it, which is atomic
on one file system; a concurrent build that finished first simply wins.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def build_once(target: Path, build: Callable[[Path], None]) -> Path:
    """`target` (a file or a folder), made by `build(path)` unless it exists; raises what `build` raises."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".building-"))
    try:
        build(staging / target.name)
        try:
            os.rename(staging / target.name, target)
        except OSError:
            if not target.exists():  # not a concurrent build that finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target

"""Rows of a large table read from its file as they are first needed, and kept.

Why: the sentence encoder's embedding table is 128,010 rows of 512 bytes
(65 MB), a quarter of a serving process's private memory, while the texts a
service sees use a few thousand of its rows (the corpus's 8,957 texts use
7,874; the benchmark's 1,000 texts 4,095). Mapping the file instead did not
help: each row read pulls the 64–128 KB around it into the process's
resident memory (52 MB after 1,000 texts, benchmarks/README.md, fourth
round). Here each row is read once with `pread` into a private array, in the
order rows are first needed, so the process holds the rows its texts used and
little else; the file's pages stay in the kernel's page cache, shared between
processes and reclaimable.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np


class RowFile:
    """`take(keys)` = table[keys] for a table stored row by row in a file, row `position(key)` of it."""

    def __init__(self, path: Path, n_keys: int, row_bytes: int, position: Callable[[int], int]) -> None:
        size = path.stat().st_size
        if size != n_keys * row_bytes:
            raise ValueError(f"{path}: {size} bytes, expected {n_keys} rows of {row_bytes}")
        self.path, self.row_bytes, self.position = path, row_bytes, position
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        weakref.finalize(self, os.close, self._fd)
        self._slot = np.full(n_keys, -1, dtype=np.int32)  # where each key's row is in _rows; -1: not read yet
        # Reserved, not allocated: only the pages written are resident, and rows are written in order.
        self._rows = np.empty((n_keys, row_bytes), dtype=np.uint8)
        self._used = 0
        self._lock = threading.Lock()

    @property
    def rows_read(self) -> int:
        return self._used

    def take(self, keys: np.ndarray) -> np.ndarray:
        slots = self._slot[keys]
        if len(slots) and slots.min() < 0:
            self._read(np.unique(keys[slots < 0]))
            slots = self._slot[keys]
        return self._rows[slots]

    def _read(self, keys: np.ndarray) -> None:
        with self._lock:
            for key in keys.tolist():
                if self._slot[key] >= 0:  # read meanwhile by another thread
                    continue
                slot = self._used
                got = os.preadv(self._fd, [self._rows[slot]], self.position(key) * self.row_bytes)
                if got != self.row_bytes:
                    raise OSError(f"{self.path}: short read of row {self.position(key)} ({got} bytes)")
                self._slot[key] = slot  # only once the bytes are there
                self._used += 1

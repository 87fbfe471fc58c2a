"""A compact copy of unidic-lite for the tokenizer: the same analysis in a fifth of the memory.

MeCab maps its dictionary files into the process, and every entry it reads
pulls the surrounding 64 KB of the file into the process's resident memory.
unidic-lite's sys.dic is 188 MB, 158 MB of which are the 26 feature fields of
each entry; after a few thousand inquiries a serving process held 110–140 MB
of those pages, although the tokenizer reads two fields of the few words on
each best path (part of speech and lemma).

The compact copy keeps the double array, the token array (connection ids,
costs), the connection matrix, the character definitions and the unknown-word
dictionary byte for byte, and rewrites only the feature strings to
"part of speech,lemma" (deduplicated). MeCab's lattice and best path are
therefore the same; only `%f[1]` now names the lemma that `%f[7]` named.
The file is 34 MB. It is derived from the installed package when first needed
and kept in the cache folder; where that cannot be written, the tokenizer
uses unidic-lite itself.

The sys.dic layout (MeCab's dictionary.cpp): a header of ten uint32 (magic =
file size ^ 0xef718f77, version 102, type, lexsize, lsize, rsize, dsize,
tsize, fsize, dummy) and a 32-byte charset name, then the double array
(dsize bytes), the tokens (tsize bytes, 16 each) and the NUL-terminated
feature strings (fsize bytes) that the tokens point into.
"""

from __future__ import annotations

import csv
import logging
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from madoguchi.cached_build import build_once

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # of the compact copy; a new value makes every cache rebuild it
_MAGIC = 0xEF718F77
_DIC_VERSION = 102
_HEADER = struct.Struct("<10I")
_CHARSET_BYTES = 32
_TOKEN = np.dtype([("lc_attr", "<u2"), ("rc_attr", "<u2"), ("posid", "<u2"), ("wcost", "<i2"),
                   ("feature", "<u4"), ("compound", "<u4")])
POS_FIELD, LEMMA_FIELD = 0, 7  # in unidic-lite's features; 0 and 1 in the compact copy's
_COPIED = ("char.bin", "matrix.bin", "unk.dic", "dicrc")


def _csv_field(value: str) -> str:
    """Quoted as MeCab's CSV reader expects where the value holds a comma or a quote."""
    return '"' + value.replace('"', '""') + '"' if ("," in value or '"' in value) else value


def compact_sys_dic(data: bytes) -> bytes:
    """unidic-lite's sys.dic with every feature string cut to its part of speech and lemma."""
    if len(data) < _HEADER.size + _CHARSET_BYTES:
        raise ValueError("too short for a MeCab dictionary")
    header = list(_HEADER.unpack_from(data))
    magic, version, _, lexsize, _, _, dsize, tsize, fsize, _ = header
    start = _HEADER.size + _CHARSET_BYTES
    if magic ^ _MAGIC != len(data) or version != _DIC_VERSION or start + dsize + tsize + fsize != len(data):
        raise ValueError("not a MeCab dictionary of version 102")
    if tsize != lexsize * _TOKEN.itemsize:
        raise ValueError(f"token array of {tsize} bytes for {lexsize} entries")
    tokens = np.frombuffer(data, dtype=_TOKEN, count=lexsize, offset=start + dsize).copy()
    features = data[start + dsize + tsize:]
    strings = features.split(b"\0")
    offsets = np.zeros(len(strings), dtype=np.int64)
    np.cumsum(np.fromiter((len(s) + 1 for s in strings), dtype=np.int64, count=len(strings))[:-1], out=offsets[1:])
    which = np.searchsorted(offsets, tokens["feature"])
    if (which >= len(strings)).any() or (offsets[np.minimum(which, len(strings) - 1)] != tokens["feature"]).any():
        raise ValueError("a token's feature offset does not start a string")
    used = np.unique(which)
    new_offset = np.zeros(len(strings), dtype=np.uint32)
    seen: dict[bytes, int] = {}
    pieces: list[bytes] = []
    size = 0
    for index, fields in zip(used, csv.reader(strings[i].decode("utf-8") for i in used), strict=True):
        if len(fields) <= LEMMA_FIELD:
            raise ValueError(f"a feature with {len(fields)} fields, not UniDic's")
        compact = f"{_csv_field(fields[POS_FIELD])},{_csv_field(fields[LEMMA_FIELD])}".encode()
        offset = seen.get(compact)
        if offset is None:
            offset = seen[compact] = size
            pieces.append(compact + b"\0")
            size += len(compact) + 1
        new_offset[index] = offset
    tokens["feature"] = new_offset[which]
    feature_bytes = b"".join(pieces)
    header[8] = len(feature_bytes)
    body = data[_HEADER.size:start + dsize] + tokens.tobytes() + feature_bytes
    header[0] = (_HEADER.size + len(body)) ^ _MAGIC
    return _HEADER.pack(*header) + body


def build(source: Path, target: Path) -> None:
    """Write the compact copy of the dictionary folder `source` into the new folder `target`."""
    target.mkdir(parents=True)
    (target / "sys.dic").write_bytes(compact_sys_dic((source / "sys.dic").read_bytes()))
    for name in _COPIED:
        shutil.copyfile(source / name, target / name)
    (target / "mecabrc").write_text("", encoding="utf-8")  # MeCab wants a resource file; the flags say it all


def _source_key(source: Path) -> str:
    stat = (source / "sys.dic").stat()
    version = (source / "version").read_text(encoding="utf-8").strip() if (source / "version").exists() else "x"
    return f"unidic-lite-{version}-{stat.st_size}-{int(stat.st_mtime)}-compact{FORMAT_VERSION}"


def compact_unidic(cache_dir: Path, check: Callable[[Path], bool] | None = None) -> Path | None:
    """The folder of the compact copy of the installed unidic-lite, built on first use; None where it cannot be.

    Built in a temporary folder, checked (`check(folder)`, the tokenizer's
    comparison with unidic-lite itself), and renamed into place, so that
    processes starting together never read a half-written or unchecked copy.
    """
    try:
        import unidic_lite

        source = Path(unidic_lite.DICDIR)
        target = cache_dir / "mecab" / _source_key(source)
        if target.exists():
            return target

        def build_checked(folder: Path) -> None:
            build(source, folder)
            if check is not None and not check(folder):
                raise ValueError("the compact copy's lemmas differ from unidic-lite's on the probe sentences")

        build_once(target, build_checked)
        log.info("built the compact MeCab dictionary in %s", target)
        return target
    except (ImportError, OSError, ValueError) as exc:
        log.warning("using unidic-lite's full dictionary: no compact copy in %s (%s)", cache_dir, exc)
        return None

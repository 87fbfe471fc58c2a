"""The labelled corpus: one JSON object per line, checked before anything trains on it.

Fields: id, text, labels (primary first), source, channel, register, split,
and optionally hard_negative and life_event. See datasets/README.md.

The split is not chosen by hand: it is derived from a hash of the text's
near-duplicate key (normalised, without punctuation, spaces or digits), so a
text and its trivially edited copy always land on the same side, and the
checker refuses anything closer than `NEAR_DUPLICATE_COSINE` across splits.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from madoguchi.taxonomy import OUT_OF_SCOPE, Taxonomy
from madoguchi.text import TextError, normalize

CHANNELS = ("counter", "web_form", "email", "chatbot", "letter", "form")
REGISTERS = ("keigo", "plain", "dialect", "elderly", "easy_japanese", "hiragana", "typo", "business")
SPLITS = ("train", "test")
TEST_PERCENT = 15
NEAR_DUPLICATE_COSINE = 0.9
REQUIRED = ("id", "text", "labels", "source", "channel", "split")

# Template placeholders that must never reach the corpus (the 子育て FAQ has many).
PLACEHOLDER = re.compile(
    r"[○〇◯]{2}|[×✕]{2}|△△|□□|ＡＡＡ|AAA|XXX|（自治体[^）]*）|\(自治体[^)]*\)|（[^）]*担当課[^）]*）"
)
_KEY_DROP = re.compile(r"[\W\d_]+")


@dataclass
class Row:
    id: str
    text: str
    labels: list[str]
    source: str
    channel: str
    split: str
    register: str | None = None
    hard_negative: bool = False
    life_event: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.labels[0]

    def to_json(self) -> str:
        data = asdict(self)
        extra = data.pop("extra")
        data = {k: v for k, v in data.items() if v not in (None, False)}
        return json.dumps({**data, **extra}, ensure_ascii=False)


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class CorpusError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = "\n".join(str(p) for p in problems[:20])
        more = f"\n… and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the corpus:\n{head}{more}")


def near_duplicate_key(text: str) -> str:
    """What stays of a text when punctuation, spaces, digits and case are ignored."""
    return _KEY_DROP.sub("", normalize(text).lower())


def split_for(text: str) -> str:
    digest = hashlib.sha1(near_duplicate_key(text).encode("utf-8")).hexdigest()
    return "test" if int(digest[:8], 16) % 100 < TEST_PERCENT else "train"


def row_id(source: str, text: str) -> str:
    return f"{source.split(':')[0]}-{hashlib.sha1(normalize(text).encode('utf-8')).hexdigest()[:10]}"


def _parse(raw: object, path: Path, line: int, taxonomy: Taxonomy, problems: list[Problem]) -> Row | None:
    def bad(message: str) -> None:
        problems.append(Problem(path, line, message))

    if not isinstance(raw, dict):
        bad("expected a JSON object")
        return None
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        bad(f"missing field(s) {', '.join(missing)}")
        return None
    text, labels = raw["text"], raw["labels"]
    if not isinstance(text, str) or not text.strip():
        bad("empty text")
        return None
    try:
        normalize(text)
    except TextError as exc:
        bad(str(exc))
        return None
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        bad(f"labels must be a non-empty list of codes, found {labels!r}")
        return None
    known = set(taxonomy.labels)
    for code in labels:
        if code not in known:
            bad(f"unknown code {code!r}")
    if OUT_OF_SCOPE in labels and len(labels) > 1:
        bad("out_of_scope must stand alone")
    if len(set(labels)) != len(labels):
        bad(f"repeated code in labels {labels}")
    if raw["channel"] not in CHANNELS:
        bad(f"unknown channel {raw['channel']!r}; expected one of {', '.join(CHANNELS)}")
    register = raw.get("register")
    if register is not None and register not in REGISTERS:
        bad(f"unknown register {register!r}; expected one of {', '.join(REGISTERS)}")
    if raw["split"] not in SPLITS:
        bad(f"split must be train or test, found {raw['split']!r}")
    elif raw["split"] != split_for(text):
        bad(f"split {raw['split']!r} does not match the hash of the text ({split_for(text)!r})")
    if PLACEHOLDER.search(text):
        bad(f"placeholder left in text: {PLACEHOLDER.search(text).group(0)!r}")
    core = {"id", "text", "labels", "source", "channel", "split", "register", "hard_negative", "life_event"}
    return Row(
        id=str(raw["id"]), text=text, labels=labels, source=str(raw["source"]), channel=raw["channel"],
        split=raw["split"], register=register, hard_negative=bool(raw.get("hard_negative", False)),
        life_event=raw.get("life_event"), extra={k: v for k, v in raw.items() if k not in core},
    )


def read_rows(path: Path | str, taxonomy: Taxonomy) -> tuple[list[Row], list[int], list[Problem]]:
    """Parse a corpus file; returns rows, their line numbers, and per-line problems."""
    path = Path(path)
    rows: list[Row] = []
    lines: list[int] = []
    problems: list[Problem] = []
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise CorpusError([Problem(path, 0, f"cannot open: {exc}")]) from exc
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.append(Problem(path, number, f"malformed JSON: {exc.msg}"))
                    continue
                row = _parse(raw, path, number, taxonomy, problems)
                if row is not None:
                    rows.append(row)
                    lines.append(number)
        except UnicodeDecodeError as exc:
            problems.append(Problem(path, 0, f"not UTF-8: {exc}"))
    return rows, lines, problems


def check_rows(rows: list[Row], lines: list[int], path: Path, taxonomy: Taxonomy) -> list[Problem]:
    """Corpus-wide checks: duplicate ids, duplicate texts, near-duplicates across splits, life events."""
    problems: list[Problem] = []
    seen_ids: dict[str, int] = {}
    seen_keys: dict[str, int] = {}
    for row, line in zip(rows, lines, strict=True):
        if row.id in seen_ids:
            problems.append(Problem(path, line, f"duplicate id {row.id!r} (first on line {seen_ids[row.id]})"))
        seen_ids.setdefault(row.id, line)
        key = near_duplicate_key(row.text)
        if key in seen_keys:
            problems.append(Problem(path, line, f"duplicate text (same as line {seen_keys[key]})"))
        seen_keys.setdefault(key, line)
        if row.life_event is not None:
            event = taxonomy.life_events.get(row.life_event)
            if event is None:
                problems.append(Problem(path, line, f"unknown life_event {row.life_event!r}"))
            elif not set(row.labels) <= set(event.categories):
                outside = [c for c in row.labels if c not in event.categories]
                problems.append(Problem(path, line, f"labels {outside} are not part of life event {row.life_event!r}"))
    for a, b, cos in cross_split_near_duplicates([r.text for r in rows], [r.split for r in rows]):
        problems.append(Problem(path, lines[b], f"near-duplicate of line {lines[a]} across splits (cosine {cos:.2f})"))
    return problems


def near_duplicate_pairs(texts: list[str], threshold: float = NEAR_DUPLICATE_COSINE,
                         candidates: Iterable[int] | None = None) -> list[tuple[int, int, float]]:
    """Pairs (i < j) whose character 3-gram TF-IDF cosine reaches the threshold.

    `candidates` restricts j to those rows (i ranges over all rows).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(texts) < 2:
        return []
    matrix = TfidfVectorizer(analyzer="char", ngram_range=(3, 3), min_df=1).fit_transform(
        [normalize(t) for t in texts])
    cols = list(range(len(texts))) if candidates is None else sorted(candidates)
    pairs = []
    for start in range(0, len(cols), 1000):
        chunk = cols[start:start + 1000]
        sims = (matrix[chunk] @ matrix.T).toarray()
        for r, j in enumerate(chunk):
            sims[r, j:] = 0  # only earlier rows: each pair once, the later row is the copy
            for i in np.flatnonzero(sims[r] >= threshold):
                pairs.append((int(i), j, float(sims[r, i])))
    return pairs


def cross_split_near_duplicates(texts: list[str], splits: list[str]) -> list[tuple[int, int, float]]:
    return [(i, j, c) for i, j, c in near_duplicate_pairs(texts) if splits[i] != splits[j]]


def load_corpus(path: Path | str, taxonomy: Taxonomy) -> list[Row]:
    """Read and check a corpus file; raise CorpusError listing file:line for every problem."""
    path = Path(path)
    rows, lines, problems = read_rows(path, taxonomy)
    problems += check_rows(rows, lines, path, taxonomy)
    if problems:
        raise CorpusError(problems)
    return rows

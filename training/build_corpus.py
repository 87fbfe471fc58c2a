"""Build datasets/corpus/inquiries.jsonl from its sources.

Sources are JSONL files of labelled rows (text, labels, channel, register …)
without id or split: the team's written rows (datasets/corpus/written/),
outside data mapped to the taxonomy (datasets/corpus/external/) and
municipalities' imported logs (datasets/corpus/imported/). The build masks
personal numbers, normalises, removes exact and near-duplicates across the
whole corpus (the first occurrence wins), and derives id and split, so
rebuilding is deterministic.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from madoguchi.taxonomy import Taxonomy
from madoguchi.text import TextError, prepare
from training.corpus import (
    NEAR_DUPLICATE_COSINE,
    Problem,
    Row,
    check_rows,
    near_duplicate_key,
    near_duplicate_pairs,
    row_id,
    split_for,
)

SOURCE_DIRS = ("written", "external", "imported")
# Stricter than the checker's limit: IDF weights shift once duplicates are
# gone, so a pair just under the checker's limit here could reach it after.
DEDUPE_COSINE = NEAR_DUPLICATE_COSINE - 0.05


@dataclass
class BuildReport:
    rows: int = 0
    dropped_duplicates: Counter = field(default_factory=Counter)
    dropped_near_duplicates: Counter = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.rows} rows; dropped {sum(self.dropped_duplicates.values())} exact and "
                f"{sum(self.dropped_near_duplicates.values())} near-duplicates; {len(self.problems)} problem(s)")


def read_source(path: Path, default_source: str, taxonomy: Taxonomy, report: BuildReport) -> list[Row]:
    rows = []
    known = set(taxonomy.labels)
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                text = prepare(raw["text"])
                labels = list(raw["labels"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                report.problems.append(Problem(path, number, f"malformed row: {exc}"))
                continue
            except TextError as exc:
                report.problems.append(Problem(path, number, str(exc)))
                continue
            unknown = [c for c in labels if c not in known]
            if unknown or not labels:
                report.problems.append(Problem(path, number, f"unknown or missing codes {unknown or labels}"))
                continue
            source = str(raw.get("source") or default_source)
            extra = {k: v for k, v in raw.items() if k in ("faq_id", "origin_category", "origin_line")}
            rows.append(Row(
                id=row_id(source, text), text=text, labels=labels, source=source,
                channel=raw.get("channel", "web_form"), split=split_for(text), register=raw.get("register"),
                hard_negative=bool(raw.get("hard_negative", False)), life_event=raw.get("life_event"), extra=extra,
            ))
    return rows


def build(corpus_dir: Path, taxonomy: Taxonomy, output: Path | None = None) -> BuildReport:
    report = BuildReport()
    rows: list[Row] = []
    for sub in SOURCE_DIRS:
        for path in sorted((corpus_dir / sub).glob("*.jsonl")):
            rows += read_source(path, f"{sub}:{path.stem}", taxonomy, report)
    unique: list[Row] = []
    seen: set[str] = set()
    for row in rows:
        key = near_duplicate_key(row.text)
        if key in seen:
            report.dropped_duplicates[row.source] += 1
            continue
        seen.add(key)
        unique.append(row)
    drop = {j for _, j, _ in near_duplicate_pairs([r.text for r in unique], DEDUPE_COSINE)}
    for j in drop:
        report.dropped_near_duplicates[unique[j].source] += 1
    kept = [r for i, r in enumerate(unique) if i not in drop]
    output = output or corpus_dir / "inquiries.jsonl"
    report.problems += check_rows(kept, list(range(1, len(kept) + 1)), output, taxonomy)
    report.rows = len(kept)
    if not report.problems:
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text("".join(r.to_json() + "\n" for r in kept), encoding="utf-8")
        tmp.replace(output)
    return report

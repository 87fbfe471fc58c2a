"""Import a municipality's own labelled inquiry log into the corpus.

Cities keep such logs in their own shape: their column names, Shift_JIS or
UTF-8, their department names instead of taxonomy codes. A small YAML
mapping file says how to read one (see datasets/README.md); every row that
cannot be used is reported with its line number — nothing is dropped
silently — and the imported rows are stored masked and normalised.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from madoguchi.taxonomy import Taxonomy
from madoguchi.text import TextError, prepare
from madoguchi.yamlfile import read_mapping
from training.corpus import CHANNELS, Problem


class ImportConfigError(ValueError):
    pass


@dataclass
class ImportMapping:
    source: str
    text_column: str
    label_column: str
    labels: dict[str, list[str]]
    channel_column: str | None = None
    channels: dict[str, str] = field(default_factory=dict)
    default_channel: str = "web_form"
    encoding: str = "auto"

    @classmethod
    def from_yaml(cls, path: Path, taxonomy: Taxonomy) -> ImportMapping:
        raw = read_mapping(path, ImportConfigError, "mapping", "source, columns and labels")
        columns = raw.get("columns") or {}
        for key in ("text", "label"):
            if not columns.get(key):
                raise ImportConfigError(f"{path}: columns.{key} names the CSV column with the {key}")
        labels: dict[str, list[str]] = {}
        for value, codes in (raw.get("labels") or {}).items():
            codes = [codes] if isinstance(codes, str) else list(codes or [])
            unknown = [c for c in codes if c not in taxonomy.labels]
            if unknown or not codes:
                raise ImportConfigError(f"{path}: label {value!r} maps to unknown code(s) {unknown or codes}")
            labels[str(value)] = codes
        if not labels:
            raise ImportConfigError(f"{path}: 'labels' must map the file's values to taxonomy codes")
        channels = {str(k): v for k, v in (raw.get("channels") or {}).items()}
        default_channel = raw.get("default_channel", "web_form")
        for value in [*channels.values(), default_channel]:
            if value not in CHANNELS:
                raise ImportConfigError(f"{path}: unknown channel {value!r}; expected one of {', '.join(CHANNELS)}")
        source = str(raw.get("source") or "")
        if not source:
            raise ImportConfigError(f"{path}: 'source' names where the rows come from, e.g. sample-town-2025")
        return cls(source=source, text_column=columns["text"], label_column=columns["label"], labels=labels,
                   channel_column=columns.get("channel"), channels=channels, default_channel=default_channel,
                   encoding=str(raw.get("encoding", "auto")))


@dataclass
class ImportReport:
    rows: list[dict]
    problems: list[Problem]


def _decode(path: Path, encoding: str) -> str:
    data = path.read_bytes()
    candidates = ["utf-8-sig", "cp932"] if encoding == "auto" else [encoding]
    for candidate in candidates:
        try:
            return data.decode(candidate)
        except UnicodeDecodeError as exc:
            error = exc
    line = data[: error.start].count(b"\n") + 1
    tried = " or ".join(candidates)
    raise ImportConfigError(f"{path}:{line}: not readable as {tried} ({error.reason} at byte {error.start})")


def import_csv(path: Path, mapping: ImportMapping) -> ImportReport:
    text = _decode(path, mapping.encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportConfigError(f"{path}: the file is empty") from None
    except csv.Error as exc:
        raise ImportConfigError(f"{path}:1: malformed header: {exc}") from None
    wanted = [mapping.text_column, mapping.label_column] + ([mapping.channel_column] if mapping.channel_column else [])
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ImportConfigError(f"{path}:1: no column(s) {', '.join(missing)}; the header has {', '.join(header)}")
    index = {name: header.index(name) for name in wanted}
    rows: list[dict] = []
    problems: list[Problem] = []
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(path, reader.line_num, f"malformed CSV row: {exc}"))
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.append(Problem(path, line, f"expected {len(header)} fields, found {len(record)}"))
            continue
        value = record[index[mapping.label_column]].strip()
        if value not in mapping.labels:
            problems.append(Problem(path, line, f"{mapping.label_column} {value!r} is not in the mapping's labels"))
            continue
        try:
            clean = prepare(record[index[mapping.text_column]])
        except TextError as exc:
            problems.append(Problem(path, line, f"{mapping.text_column}: {exc}"))
            continue
        channel = mapping.default_channel
        if mapping.channel_column:
            raw_channel = record[index[mapping.channel_column]].strip()
            channel = mapping.channels.get(raw_channel, raw_channel if raw_channel in CHANNELS else "")
            if not channel:
                problems.append(Problem(path, line, f"{mapping.channel_column} {raw_channel!r} is not a known channel"))
                continue
        rows.append({"text": clean, "labels": mapping.labels[value], "channel": channel,
                     "source": f"imported:{mapping.source}", "origin_line": line})
    return ImportReport(rows, problems)


def write_import(report: ImportReport, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in report.rows), encoding="utf-8")
    tmp.replace(output)

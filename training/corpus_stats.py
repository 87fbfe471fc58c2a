"""Statistics of the corpus for its datasheet: rows per category × channel, registers, lengths, sources.

`madoguchi data stats` prints them as Markdown tables, so datasets/README.md
can be refreshed from the data instead of from memory.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from madoguchi.taxonomy import Taxonomy
from training.corpus import CHANNELS, REGISTERS, Row


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(rows: list[Row], taxonomy: Taxonomy) -> str:
    by_label_channel = Counter((r.label, r.channel) for r in rows)
    by_label_split = Counter((r.label, r.split) for r in rows)
    hard = Counter(r.label for r in rows if r.hard_negative)
    multi = Counter(r.label for r in rows if len(r.labels) > 1)
    table = []
    for code in taxonomy.labels:
        counts = [by_label_channel[(code, ch)] for ch in CHANNELS]
        table.append([code, taxonomy.name(code), sum(counts), *counts, by_label_split[(code, "test")], hard[code],
                      multi[code]])
    totals = [sum(by_label_channel[(c, ch)] for c in taxonomy.labels) for ch in CHANNELS]
    table.append(["**total**", "", len(rows), *totals, sum(r.split == "test" for r in rows),
                  sum(hard.values()), sum(multi.values())])
    parts = ["### Rows per category (primary label) × channel",
             _table(["code", "name", "rows", *CHANNELS, "test", "hard neg.", "multi-label"], table)]
    registers = Counter(r.register or "unknown" for r in rows)
    parts += ["### Registers", _table(["register", "rows"], [[k, registers[k]] for k in (*REGISTERS, "unknown")
                                                                if registers[k]])]
    lengths = np.array([len(r.text) for r in rows])
    quantiles = np.percentile(lengths, [0, 10, 50, 90, 100]).astype(int)
    parts += ["### Length (characters, after normalisation)",
              _table(["min", "p10", "median", "p90", "max"], [list(quantiles)])]
    events = Counter(r.life_event for r in rows if r.life_event)
    parts += ["### Life-event rows", _table(["life event", "rows"], [[k, v] for k, v in sorted(events.items())])]
    sources = Counter(r.source for r in rows)
    parts += ["### Sources", _table(["source", "rows"], [[k, v] for k, v in sorted(sources.items())])]
    return "\n\n".join(parts) + "\n"

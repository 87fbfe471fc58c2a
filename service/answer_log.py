"""What the service answered, for the people who run it: a summary per interval, or a line per answer.

Never the text: model version, category codes, review flags, municipalities
and timings only.

Why a summary by default: one log line per answer cost the served ensemble
~14 % of its CPU time a request at 16 connections (848 -> 726 µs; throughput
+17 %, A/B of 6 alternated rounds, benchmarks/README.md sixth round), far more
than the ~15 µs the logging call takes on its own; writing the lines from a
queue thread did not help. Counting an answer costs ~1 µs. The line per
answer remains a setting away (`MADOGUCHI_ANSWER_LOG=each`) for debugging;
each response carries the model version for the caller's own records.
"""

from __future__ import annotations

import asyncio
import logging
from array import array
from collections import Counter

import numpy as np

from madoguchi.inference import Classification, ModelInfo
from madoguchi.settings import AnswerLogMode

log = logging.getLogger("madoguchi.answers")


def _codes(results: list[Classification]) -> list[str]:
    return [r.category.code if r.category else "-" for r in results]


class AnswerLog:
    def __init__(self, info: ModelInfo, mode: AnswerLogMode = "summary", interval_s: float = 60.0) -> None:
        self.info, self.mode, self.interval_s = info, mode, interval_s
        self._task: asyncio.Task[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.requests = 0
        self.review = 0
        self.codes: Counter[str] = Counter()
        self.municipalities: Counter[str] = Counter()
        self.ms = array("d")

    def record(self, results: list[Classification], ms: float, municipality: str | None) -> None:
        """Note one request's answers (a single text, or a batch's)."""
        if self.mode == "summary":
            self.requests += 1
            self.review += sum(r.needs_review for r in results)
            self.codes.update(_codes(results))
            self.municipalities[municipality or "-"] += 1
            self.ms.append(ms)
        elif self.mode == "each" and log.isEnabledFor(logging.INFO):
            log.info("model=%s/%s municipality=%s n=%d codes=%s review=%d ms=%.2f", self.info.name,
                     self.info.version, municipality or "-", len(results), ",".join(_codes(results[:20])),
                     sum(r.needs_review for r in results), ms)

    def flush(self) -> None:
        """Write the summary of the answers since the last one, if there were any."""
        if not self.requests:
            return
        texts = sum(self.codes.values())
        p50, p99 = np.percentile(np.frombuffer(self.ms), [50, 99])
        log.info("model=%s/%s requests=%d texts=%d review=%d (%.1f %%) ms p50=%.2f p99=%.2f codes=%s "
                 "municipalities=%s", self.info.name, self.info.version, self.requests, texts, self.review,
                 100 * self.review / texts, p50, p99, _counts(self.codes), _counts(self.municipalities))
        self._reset()

    def start(self) -> None:
        if self.mode == "summary":
            self._task = asyncio.get_running_loop().create_task(self._every_interval(), name="answer-log")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.flush()

    async def _every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            self.flush()


def _counts(counter: Counter[str]) -> str:
    return ",".join(f"{key}:{n}" for key, n in counter.most_common())

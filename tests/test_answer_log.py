"""What the service logs of its answers: counts and codes per interval, or a line per request; never text."""

from __future__ import annotations

import asyncio
import logging

from madoguchi.inference import Candidate, Classification, ModelInfo
from service.answer_log import AnswerLog

INFO = ModelInfo("router", "4", None, 0.5, 1, "ensemble")


def answer(code: str | None, review: bool = False) -> Classification:
    category = Candidate(code, code, 0.9, None) if code else None
    return Classification(category, 0.9, [], review, "low_confidence" if review else None, None)


def lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "madoguchi.answers"]


def test_summary_counts_requests_texts_reviews_codes_and_municipalities(caplog):
    caplog.set_level(logging.INFO, logger="madoguchi.answers")
    answers = AnswerLog(INFO, "summary")
    answers.record([answer("juki")], 1.0, "takamatsu")
    answers.record([answer("juki"), answer(None, review=True), answer("zei", review=True)], 3.0, None)
    answers.record([answer("zei")], 2.0, "takamatsu")
    assert lines(caplog) == []  # nothing until the interval is over
    answers.flush()
    (line,) = lines(caplog)
    assert line.startswith("model=router/4 requests=3 texts=5 review=2 (40.0 %) ms p50=2.00 p99=")
    assert line.endswith("codes=juki:2,zei:2,-:1 municipalities=takamatsu:2,-:1")
    answers.flush()  # nothing new: no second line
    assert len(lines(caplog)) == 1


def test_each_mode_logs_a_line_per_request_and_off_logs_nothing(caplog):
    caplog.set_level(logging.INFO, logger="madoguchi.answers")
    each = AnswerLog(INFO, "each")
    each.record([answer("juki"), answer(None, review=True)], 1.5, "sapporo")
    each.flush()
    assert lines(caplog) == ["model=router/4 municipality=sapporo n=2 codes=juki,- review=1 ms=1.50"]
    off = AnswerLog(INFO, "off")
    off.record([answer("juki")], 1.0, None)
    off.flush()
    assert len(lines(caplog)) == 1


def test_summaries_are_written_every_interval_and_at_stop(caplog):
    caplog.set_level(logging.INFO, logger="madoguchi.answers")

    async def scenario():
        answers = AnswerLog(INFO, "summary", interval_s=0.05)
        answers.start()
        answers.record([answer("juki")], 1.0, None)
        await asyncio.sleep(0.12)
        answers.record([answer("zei")], 1.0, None)
        await answers.stop()

    asyncio.run(scenario())
    assert [line.split(" codes=")[1].split(" ")[0] for line in lines(caplog)] == ["juki:1", "zei:1"]


"""Dynamic batching: concurrent requests share model calls, and each gets its own rows back."""

from __future__ import annotations

import asyncio
import threading
import time
from functools import partial

import numpy as np
import pytest

from madoguchi.steps import run_steps
from service.batcher import LARGE_CALL_CHUNK, PIPELINE_DEPTH, MicroBatcher


class SlowEchoModel:
    """Row i of the answer is [number in text i]; each call takes a while, so requests pile up meanwhile."""

    labels = ("n",)

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.threads: list[str] = []
        self.fail_on = fail_on

    def predict_proba(self, texts):
        self.calls.append(list(texts))
        self.threads.append(threading.current_thread().name)
        if self.fail_on in texts:
            raise RuntimeError("model failure")
        time.sleep(0.02)
        return np.asarray([[float(t.split()[-1])] for t in texts])


def run(coroutine):
    return asyncio.run(coroutine)


def test_requests_arriving_while_the_model_is_busy_share_one_call():
    model = SlowEchoModel()

    async def scenario():
        async with MicroBatcher(model) as batcher:
            first = asyncio.create_task(batcher.predict_proba(["t 0", "t 1"]))  # busy with these while the ten arrive
            await asyncio.sleep(0.005)
            rest = await asyncio.gather(*(batcher.predict_proba([f"t {i}"]) for i in range(2, 12)))
            return await first, rest

    first, rest = run(scenario())
    assert first[:, 0].tolist() == [0.0, 1.0]
    assert [r[:, 0].tolist() for r in rest] == [[float(i)] for i in range(2, 12)]
    assert len(model.calls) == 2 and len(model.calls[1]) == 10  # the ten waited and went together


def test_batches_are_capped_and_order_kept():
    model = SlowEchoModel()

    async def scenario():
        async with MicroBatcher(model, max_batch_texts=4) as batcher:
            blocker = asyncio.create_task(batcher.predict_proba(["t 100", "t 101"]))
            await asyncio.sleep(0.005)
            answers = await asyncio.gather(*(batcher.predict_proba([f"t {i}"]) for i in range(9)))
            await blocker
            return answers

    answers = run(scenario())
    assert [a[0, 0] for a in answers] == list(range(9))
    assert max(len(c) for c in model.calls) <= 4


def test_a_failing_call_fails_its_requests_and_the_batcher_goes_on():
    model = SlowEchoModel(fail_on="t 666")

    async def scenario():
        async with MicroBatcher(model) as batcher:
            with pytest.raises(RuntimeError, match="model failure"):
                await batcher.predict_proba(["t 666", "t 1"])
            return await batcher.predict_proba(["t 7"])

    assert run(scenario())[0, 0] == 7.0


def test_small_calls_run_on_the_event_loop_and_large_ones_on_the_model_thread():
    model = SlowEchoModel()

    async def scenario():
        async with MicroBatcher(model, max_batch_texts=4) as batcher:
            await batcher.predict_proba(["t 1"])
            await batcher.predict_proba([f"t {i}" for i in range(10)])

    run(scenario())
    assert model.threads[0] == threading.main_thread().name
    assert model.threads[1].startswith("model")


def test_a_large_call_is_predicted_in_chunks_in_order():
    model = SlowEchoModel()
    n = LARGE_CALL_CHUNK * 2 + 5

    async def scenario():
        async with MicroBatcher(model) as batcher:
            return await batcher.predict_proba([f"t {i}" for i in range(n)])

    assert run(scenario())[:, 0].tolist() == list(range(n))
    assert [len(call) for call in model.calls] == [LARGE_CALL_CHUNK, LARGE_CALL_CHUNK, 5]


class StagedEchoModel(SlowEchoModel):
    """`predict_proba_steps`: Python here, then a slow call handed out (as the encoder hands out ONNX Runtime)."""

    def __init__(self, fail_on: str | None = None) -> None:
        super().__init__(fail_on)
        self.gil_free_threads: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.in_flight_at_sync_calls: list[int] = []

    def predict_proba(self, texts):
        self.in_flight_at_sync_calls.append(self.in_flight)
        return run_steps(self.predict_proba_steps(texts))

    def predict_proba_steps(self, texts):
        self.calls.append(list(texts))
        self.threads.append(threading.current_thread().name)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            rows = yield partial(self._slow, list(texts))
        finally:
            self.in_flight -= 1
        self.threads.append(threading.current_thread().name)
        return rows

    def _slow(self, texts):
        self.gil_free_threads.append(threading.current_thread().name)
        if self.fail_on in texts:
            raise RuntimeError("model failure")
        time.sleep(0.02)
        return np.asarray([[float(t.split()[-1])] for t in texts])


def test_staged_models_are_pipelined_with_the_handed_out_calls_on_their_own_thread():
    model = StagedEchoModel()

    async def scenario():
        async with MicroBatcher(model, max_batch_texts=4) as batcher:
            return await asyncio.gather(*(batcher.predict_proba([f"t {i}"]) for i in range(40)))

    answers = run(scenario())
    assert [a[0, 0] for a in answers] == list(range(40))
    assert set(model.threads) == {threading.main_thread().name}
    assert model.gil_free_threads and all(name.startswith("gil-free") for name in model.gil_free_threads)
    assert model.most_in_flight == PIPELINE_DEPTH  # the next batch was prepared while one was out


def test_a_failing_handed_out_call_fails_only_its_requests():
    model = StagedEchoModel(fail_on="t 666")

    async def scenario():
        async with MicroBatcher(model) as batcher:
            bad = asyncio.create_task(batcher.predict_proba(["t 666"]))
            await asyncio.sleep(0.005)  # the next request goes in the next batch
            good = await batcher.predict_proba(["t 3"])
            with pytest.raises(RuntimeError, match="model failure"):
                await bad
            return good, await batcher.predict_proba(["t 7"])

    good, later = run(scenario())
    assert good[0, 0] == 3.0 and later[0, 0] == 7.0


def test_a_large_call_waits_for_the_pipelined_batches():
    model = StagedEchoModel()

    async def scenario():
        async with MicroBatcher(model, max_batch_texts=4) as batcher:
            small = [asyncio.create_task(batcher.predict_proba([f"t {i}"])) for i in range(3)]
            await asyncio.sleep(0.005)  # they are out on the GIL-free thread now
            large = await batcher.predict_proba([f"t {i}" for i in range(10)])
            return await asyncio.gather(*small), large

    small, large = run(scenario())
    assert [s[0, 0] for s in small] == [0, 1, 2] and large[:, 0].tolist() == list(range(10))
    assert model.in_flight_at_sync_calls == [0]  # MeCab and the rest never ran beside another batch


def test_a_lone_request_is_not_handed_out():
    model = StagedEchoModel()

    async def scenario():
        async with MicroBatcher(model) as batcher:
            return await batcher.predict_proba(["t 5"]), await batcher.predict_proba(["t 6", "t 7"])

    one, two = run(scenario())
    assert one[0, 0] == 5.0 and two[:, 0].tolist() == [6.0, 7.0]
    assert model.in_flight_at_sync_calls == [0, 0]  # each ran whole, here: nothing to overlap
    assert model.gil_free_threads == [threading.main_thread().name] * 2


class TwoCallModel(StagedEchoModel):
    """Steps that hand out two calls in turn."""

    def predict_proba_steps(self, texts):
        yield partial(time.sleep, 0.05)
        return (yield partial(self._slow, list(texts)))


def test_requests_of_a_batch_cut_off_by_shutdown_get_an_error_not_a_hang():
    model = TwoCallModel()

    async def scenario():
        batcher = MicroBatcher(model)
        batcher.start()
        waiting = [asyncio.create_task(batcher.predict_proba([f"t {i}"])) for i in range(2)]
        await asyncio.sleep(0.01)  # the batch's first call is out on the GIL-free thread
        await batcher.stop()  # its second call can no longer be handed out
        return await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 2)

    answers = run(scenario())
    assert all(isinstance(a, RuntimeError) for a in answers), answers

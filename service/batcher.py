"""Dynamic batching: requests that arrive while the model is busy share its next call.

A front desk sends one text per request, but a busy service has many in
flight. Calling the model once per request makes the sixteenth request wait
for fifteen full model calls; one call over all sixteen texts costs far less
than sixteen calls (the encoder streams its weights once per batch, the
TF-IDF product becomes one sparse × dense product). Model calls run one at a
time, so the model, including MeCab's tagger, is never entered by two threads
at once.

Calls of up to `max_batch_texts` texts run on the event loop itself: the
requests that arrive meanwhile wait in the socket buffers and are read, and
batched, as soon as the call returns. Running whole calls on a thread instead
was slower under load (benchmarks/README.md): the model's Python code and the
event loop took turns at the GIL, and each hand-off cost a wake-up. Only a
larger call (a /v1/classify/batch request) goes to a dedicated thread, so
that a thousand texts do not keep /healthz waiting, and is predicted
LARGE_CALL_CHUNK texts at a time, so that it does not swell the process.

A model that offers `predict_proba_steps` (madoguchi.steps: the ensemble and
the embedding backends) is pipelined: its Python runs on the event loop as
above, but the calls it hands out — ONNX Runtime, which releases the GIL —
run on a second thread, and while one batch is there the loop answers HTTP
and runs the next batch's Python. At most PIPELINE_DEPTH batches are in
flight; the Python parts, MeCab included, still never run two at a time.
A lone request (nothing else waiting or in flight) runs whole on the loop:
the two thread wake-ups of a hand-off cost it ~0.5 ms and there is nothing to
overlap. Measured in benchmarks/README.md (fourth round).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from madoguchi.inference import LabelledModel
from madoguchi.steps import Steps

_Waiting = tuple[Sequence[str], "asyncio.Future[np.ndarray]"]
MAX_BATCH_TEXTS = 64
# A /v1/classify/batch call is predicted this many texts at a time: its intermediate arrays (the encoder's
# inputs alone are ~20 KB a text) then stay small, and the process's memory stays near what single texts
# need (a whole call of 1,000 texts added ~40 MB, held by the allocator afterwards). TF-IDF's texts/s in-process
# are the same either way (5,775-7,216 in one call, 5,793-7,781 in chunks; fifth round).
LARGE_CALL_CHUNK = 128
PIPELINE_DEPTH = 2  # batches in flight: one on the GIL-free thread, one being prepared; 3 was no better


class MicroBatcher:
    def __init__(self, model: LabelledModel, max_batch_texts: int = MAX_BATCH_TEXTS) -> None:
        self.model = model
        self.max_batch_texts = max_batch_texts
        self._queue: asyncio.Queue[_Waiting] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._gil_free = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gil-free")
        self._steps: Callable[[Sequence[str]], Steps] | None = getattr(model, "predict_proba_steps", None)
        self._slots = asyncio.Semaphore(PIPELINE_DEPTH)
        self._in_flight = 0  # pipelined batches not yet delivered
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._gil_free.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> MicroBatcher:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def predict_proba(self, prepared_texts: Sequence[str]) -> np.ndarray:
        """Probabilities for these texts, computed together with whatever else is waiting."""
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        await self._queue.put((prepared_texts, future))
        return await future

    def _take(self, first: _Waiting) -> list[_Waiting]:
        taken, size = [first], len(first[0])
        while size < self.max_batch_texts and not self._queue.empty():
            item = self._queue.get_nowait()
            taken.append(item)
            size += len(item[0])
        return taken

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            await self._slots.acquire()
            taken = self._take(first)
            texts = [text for item, _ in taken for text in item]
            # One request and nothing in flight: nothing to overlap, and the hand-off to the other thread and
            # back would only add its wake-ups to that request's time.
            alone = len(taken) == 1 and not self._in_flight
            if self._steps is not None and len(texts) <= self.max_batch_texts and not alone:
                self._pipeline(self._steps(texts), taken)
                continue
            for _ in range(PIPELINE_DEPTH - 1):  # a call of its own: the batches in flight finish first
                await self._slots.acquire()
            try:
                if len(texts) <= self.max_batch_texts:
                    proba = self.model.predict_proba(texts)
                else:
                    proba = await loop.run_in_executor(self._executor, self._predict_in_chunks, texts)
            except Exception as exc:  # every waiting request gets the error, the loop goes on
                _fail(taken, exc)
            else:
                _deliver(taken, proba)
            finally:
                for _ in range(PIPELINE_DEPTH):
                    self._slots.release()

    def _predict_in_chunks(self, texts: list[str]) -> np.ndarray:
        return np.concatenate([self.model.predict_proba(texts[start:start + LARGE_CALL_CHUNK])
                               for start in range(0, len(texts), LARGE_CALL_CHUNK)])

    def _pipeline(self, steps: Steps, taken: list[_Waiting]) -> None:
        """Run a batch's Python up to its first GIL-free call here and now, and hand that call out."""
        self._in_flight += 1
        self._advance(steps, taken, lambda: next(steps))

    def _advance(self, steps: Steps, taken: list[_Waiting], resume: Callable[[], Callable[[], Any]]) -> None:
        """On the loop: run the batch's Python to its next GIL-free call and start that call on the
        GIL-free thread, or deliver the batch when the generator returns."""
        try:
            self._gil_free.submit(self._call_out, steps, taken, resume())
            return
        except StopIteration as done:
            _deliver(taken, done.value)
        except Exception as exc:  # every request of the batch gets the error (shutting down too), the loop goes on
            _fail(taken, exc)
        self._in_flight -= 1
        self._slots.release()

    def _call_out(self, steps: Steps, taken: list[_Waiting], call: Callable[[], Any]) -> None:
        """On the GIL-free thread: make the call, then have the loop go on with its result.

        A plain callback rather than a future awaited by a task: the task's wake-up took one more turn of
        the event loop after the call returned, and under load each turn runs every request ready by then.
        """
        try:
            result, error = call(), None
        except Exception as exc:
            result, error = None, exc

        def resume() -> Callable[[], Any]:
            if error is not None:
                raise error
            return steps.send(result)

        with contextlib.suppress(RuntimeError):  # the loop closed while the call ran: nobody waits
            self._loop.call_soon_threadsafe(self._advance, steps, taken, resume)


def _deliver(taken: list[_Waiting], proba: np.ndarray) -> None:
    start = 0
    for item, future in taken:
        if not future.done():
            future.set_result(proba[start:start + len(item)])
        start += len(item)


def _fail(taken: list[_Waiting], exc: Exception) -> None:
    for _, future in taken:
        if not future.done():
            future.set_exception(exc)

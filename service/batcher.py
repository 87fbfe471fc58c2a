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
batched, as soon as the call returns. Running them on a thread instead was
slower under load (benchmarks/README.md): the model's Python code and the
event loop took turns at the GIL, and each hand-off cost a wake-up. Only a
larger call (a /v1/classify/batch request) goes to a dedicated thread, so
that a thousand texts do not keep /healthz waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from madoguchi.inference import LabelledModel

MAX_BATCH_TEXTS = 64


class MicroBatcher:
    def __init__(self, model: LabelledModel, max_batch_texts: int = MAX_BATCH_TEXTS) -> None:
        self.model = model
        self.max_batch_texts = max_batch_texts
        self._queue: asyncio.Queue[tuple[Sequence[str], asyncio.Future[np.ndarray]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=False, cancel_futures=True)

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

    def _take(self, first: tuple[Sequence[str], asyncio.Future[np.ndarray]]) -> list:
        taken, size = [first], len(first[0])
        while size < self.max_batch_texts and not self._queue.empty():
            item = self._queue.get_nowait()
            taken.append(item)
            size += len(item[0])
        return taken

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            taken = self._take(await self._queue.get())
            texts = [text for item, _ in taken for text in item]
            try:
                if len(texts) <= self.max_batch_texts:
                    proba = self.model.predict_proba(texts)
                else:
                    proba = await loop.run_in_executor(self._executor, self.model.predict_proba, texts)
            except Exception as exc:  # every waiting request gets the error, the loop goes on
                for _, future in taken:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for item, future in taken:
                if not future.done():
                    future.set_result(proba[start:start + len(item)])
                start += len(item)

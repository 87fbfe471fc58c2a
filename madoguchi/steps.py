"""Predictions as steps: a generator that hands out the calls it can make without the GIL.

ONNX Runtime releases the GIL while it runs, so in the service an encoder call
can run on a second core while the event loop goes on with HTTP and with the
next batch's Python work. A model that supports this offers
`predict_proba_steps(texts)`: a generator that yields zero-argument callables
(the GIL-free calls), is sent each one's result, and returns the
probabilities. `run_steps` drives it in the calling thread, which is what every
synchronous caller does; the service's batcher drives it with the calls on a
worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

Steps = Generator[Callable[[], Any], Any, Any]


def run_steps(steps: Steps) -> Any:
    """Run every yielded call here and return the generator's value."""
    try:
        call = next(steps)
        while True:
            call = steps.send(call())
    except StopIteration as done:
        return done.value


def proba_steps(model: Any, texts: Sequence[str]) -> Steps:
    """`model`'s own `predict_proba_steps` where it has them; otherwise its `predict_proba`, nothing handed out."""
    steps = getattr(model, "predict_proba_steps", None)
    if steps is None:
        return model.predict_proba(texts)
    return (yield from steps(texts))

"""Shared resources handed to routes through FastAPI dependencies.

They are `async def` although they await nothing: FastAPI runs plain `def`
dependencies in a thread pool, and that hand-off cost more per request than
the TF-IDF model itself (py-spy under wrk load). The classify routes take one
dependency, the loaded model with its batcher and answer log, rather than one for each:
every dependency FastAPI solves costs a request ~20 µs of bookkeeping
(cache keys, scopes, its own `Request` parameter), some 3 % of the served
ensemble's time at 16 connections (benchmarks/README.md, sixth round).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from madoguchi.inference import Classifier
from madoguchi.routing import RoutingTable
from madoguchi.settings import Settings
from madoguchi.taxonomy import Taxonomy
from service.answer_log import AnswerLog
from service.batcher import MicroBatcher
from service.errors import ApiError


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_taxonomy(request: Request) -> Taxonomy:
    return request.app.state.taxonomy


async def get_routing(request: Request) -> dict[str, RoutingTable]:
    return request.app.state.routing


@dataclass(frozen=True)
class LoadedModel:
    """The served classifier, the batcher that shares its model calls between requests, and the log of
    what it answers."""

    classifier: Classifier
    batcher: MicroBatcher
    answers: AnswerLog


def not_loaded_reason(request: Request) -> str:
    """Why there is no model to answer with: the load error, or that loading has not finished."""
    return request.app.state.load_error or "the model is still loading"


async def get_model(request: Request) -> LoadedModel:
    loaded = request.app.state.loaded
    if loaded is None:
        raise ApiError(503, "model_not_loaded", not_loaded_reason(request))
    return loaded


SettingsDep = Annotated[Settings, Depends(get_settings)]
TaxonomyDep = Annotated[Taxonomy, Depends(get_taxonomy)]
RoutingDep = Annotated[dict[str, RoutingTable], Depends(get_routing)]
ModelDep = Annotated[LoadedModel, Depends(get_model)]

"""Shared resources handed to routes through FastAPI dependencies.

They are `async def` although they await nothing: FastAPI runs plain `def`
dependencies in a thread pool, and that hand-off cost more per request than
the TF-IDF model itself (py-spy under wrk load).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from madoguchi.inference import Classifier
from madoguchi.routing import RoutingTable
from madoguchi.settings import Settings
from madoguchi.taxonomy import Taxonomy
from service.batcher import MicroBatcher
from service.errors import ApiError


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_taxonomy(request: Request) -> Taxonomy:
    return request.app.state.taxonomy


async def get_routing(request: Request) -> dict[str, RoutingTable]:
    return request.app.state.routing


async def get_classifier(request: Request) -> Classifier:
    classifier = getattr(request.app.state, "classifier", None)
    if classifier is None:
        reason = getattr(request.app.state, "load_error", None) or "the model is still loading"
        raise ApiError(503, "model_not_loaded", reason)
    return classifier


async def get_batcher(request: Request) -> MicroBatcher:
    return request.app.state.batcher


SettingsDep = Annotated[Settings, Depends(get_settings)]
TaxonomyDep = Annotated[Taxonomy, Depends(get_taxonomy)]
RoutingDep = Annotated[dict[str, RoutingTable], Depends(get_routing)]
ClassifierDep = Annotated[Classifier, Depends(get_classifier)]
BatcherDep = Annotated[MicroBatcher, Depends(get_batcher)]

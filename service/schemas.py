"""Request and response models of the public API, with Japanese examples for /docs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

EXAMPLE_TEXT = "引っ越したので住所変更をしたい"


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"text": EXAMPLE_TEXT, "municipality": "takamatsu"},
        {"text": "粗大ごみの出し方を教えてください", "municipality": "sample-town", "top_k": 2},
    ]})

    text: str = Field(description="The inquiry as the resident wrote or said it (normalised by the service).")
    municipality: str | None = Field(default=None, description="Routing table id, e.g. takamatsu; omit for no route.")
    top_k: int = Field(default=3, ge=0, le=10, description="How many alternatives to return after the top category.")


class BatchRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"texts": [EXAMPLE_TEXT, "児童手当の現況届は必要ですか", "今日の天気は？"], "municipality": "takamatsu"},
    ]})

    texts: list[str] = Field(description="Up to 1,000 inquiries, answered in the same order.")
    municipality: str | None = None
    top_k: int = Field(default=3, ge=0, le=10)


class RouteOut(BaseModel):
    municipality: str
    department: str
    contact: str | None = None
    counter: str | None = None


class CategoryOut(BaseModel):
    code: str = Field(examples=["juki"])
    name: str = Field(examples=["住民基本台帳"])


class AlternativeOut(CategoryOut):
    confidence: float
    route: RouteOut | None = None


class ModelOut(BaseModel):
    name: str
    version: str
    backend: str


class ClassifyResponse(BaseModel):
    category: CategoryOut | None = Field(description="null when the text is out of scope for every department.")
    confidence: float = Field(ge=0, le=1)
    alternatives: list[AlternativeOut]
    needs_review: bool = Field(description="A person should look at this (low confidence or out of scope).")
    review_reason: str | None = Field(default=None, examples=["low_confidence", "out_of_scope"])
    route: RouteOut | None = None
    model: ModelOut


class BatchResponse(BaseModel):
    results: list[ClassifyResponse]


class CategoryInfo(CategoryOut):
    standard: bool


class CategoriesResponse(BaseModel):
    taxonomy_version: int
    categories: list[CategoryInfo]


class MunicipalityInfo(BaseModel):
    id: str
    name: str
    departments: int


class MunicipalitiesResponse(BaseModel):
    municipalities: list[MunicipalityInfo]


class ErrorResponse(BaseModel):
    error: str = Field(description="Machine-readable reason, e.g. empty_text, unknown_municipality.")
    message: str
    message_ja: str
    index: int | None = Field(default=None, description="Position of the offending text in a batch.")

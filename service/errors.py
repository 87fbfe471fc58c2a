"""HTTP errors with a machine-readable code and a message in English and Japanese.

Domain code raises plain exceptions (TextError, UnknownMunicipalityError);
only this module and the routes translate them into HTTP.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

MESSAGES_JA = {
    "empty_text": "テキストが空です。",
    "text_too_long": "テキストが長すぎます。",
    "invalid_text": "テキストを読み取れません。",
    "unknown_municipality": "その自治体の振り分け表はありません。",
    "batch_too_large": "一度に送れる件数を超えています。",
    "invalid_json": "JSON として読み取れません。",
    "invalid_request": "リクエストの形式が正しくありません。",
    "unsupported_media_type": "Content-Type は application/json にしてください。",
    "payload_too_large": "リクエストが大きすぎます。",
    "model_not_loaded": "モデルを読み込み中、または読み込みに失敗しました。",
    "not_found": "そのURLはありません。",
    "method_not_allowed": "そのメソッドは使えません。",
}


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.index = status, error, message, index


def error_body(error: str, message: str, index: int | None = None) -> dict:
    body = {"error": error, "message": message, "message_ja": MESSAGES_JA.get(error, "エラーが発生しました。")}
    if index is not None:
        body["index"] = index
    return body


def error_response(status: int, error: str, message: str, index: int | None = None) -> JSONResponse:
    return JSONResponse(error_body(error, message, index), status_code=status)


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.error, exc.message, exc.index)


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return error_response(422, "invalid_request", f"{where or 'body'}: {first.get('msg', 'invalid request')}")


async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    # FastAPI answers 400 itself only when it cannot parse the body (e.g. bytes that are not UTF-8).
    codes = {400: "invalid_json", 404: "not_found", 405: "method_not_allowed"}
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)

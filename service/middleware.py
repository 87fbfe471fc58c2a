"""Checks on raw request bodies, before FastAPI parses them.

Pure ASGI (no BaseHTTPMiddleware) so it adds next to nothing to each request.

- Content type: POST bodies must be JSON. `curl -d '{…}'` sends
  application/x-www-form-urlencoded by default; a body with that type is
  read as JSON (so the README's one-line curl works), anything else gets 415.
- Size: a body over the limit gets 413 without being buffered in full.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_body

_JSON_TYPES = (b"application/json",)
_CURL_DEFAULT = b"application/x-www-form-urlencoded"


async def _reply(send: Send, status: int, error: str, message: str) -> None:
    body = json.dumps(error_body(error, message), ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype == _CURL_DEFAULT:
            scope = {**scope, "headers": [(k, b"application/json" if k == b"content-type" else v)
                                          for k, v in scope["headers"]]}
        elif ctype and ctype not in _JSON_TYPES and not ctype.endswith(b"+json"):
            await _reply(send, 415, "unsupported_media_type",
                         f"expected Content-Type application/json, found {ctype.decode('latin-1')}")
            return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _reply(send, 413, "payload_too_large", f"request body over {self.max_body_bytes} bytes")
            return
        # Read the body here (FastAPI buffers it anyway), so a chunked upload
        # without Content-Length is cut off at the limit too.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _reply(send, 413, "payload_too_large", f"request body over {self.max_body_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

"""The HTTP API against a real uvicorn process on a free loopback port."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import pytest

from service.schemas import BatchResponse, ClassifyResponse
from tests.conftest import TFIDF, start_server, store_settings

pytestmark = pytest.mark.slow


def post(server, path: str, **kwargs) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", timeout=30, **kwargs)


def test_classify_returns_category_confidence_alternatives_route_and_model(server):
    r = post(server, "/v1/classify", json={"text": "引っ越したので住所変更をしたい", "municipality": "takamatsu"})
    assert r.status_code == 200, r.text
    body = r.json()
    ClassifyResponse.model_validate(body, strict=True)  # the documented schema, field by field
    assert body["category"] == {"code": "juki", "name": "住民基本台帳"}
    assert 0 <= body["confidence"] <= 1
    assert len(body["alternatives"]) == 3
    assert all(a["code"] != "juki" for a in body["alternatives"])
    assert body["route"]["department"] == "市民局市民課"
    assert body["route"]["municipality"] == "takamatsu"
    assert body["model"]["version"] == "1"
    assert isinstance(body["needs_review"], bool)


def test_concurrent_requests_batched_together_each_get_their_own_answer(server):
    """Requests in flight at once share model calls; every answer must still belong to its own text."""
    texts = ["住民票の写しがほしい", "粗大ごみを出したい", "児童手当の申請", "国民健康保険に加入したい",
             "水道の使用を開始したい", "選挙の投票所はどこですか", "保育園に入りたい", "固定資産税の納付書が届かない"]
    alone = [post(server, "/v1/classify", json={"text": t, "municipality": "takamatsu"}).json() for t in texts]

    async def together() -> list[dict]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            sent = [client.post("/v1/classify", json={"text": t, "municipality": "takamatsu"}) for t in texts * 4]
            return [r.json() for r in await asyncio.gather(*sent)]

    answers = asyncio.run(together())
    assert len(answers) == len(texts) * 4
    for i, answer in enumerate(answers):
        expected = alone[i % len(texts)]
        assert answer["category"] == expected["category"]
        assert answer["confidence"] == pytest.approx(expected["confidence"], abs=1e-3)
        assert answer["route"] == expected["route"]


def test_curl_default_form_content_type_is_read_as_json(server):
    r = post(server, "/v1/classify", content='{"text": "粗大ごみを出したい", "municipality": "sample-town"}'.encode(),
             headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    assert r.json()["route"]["department"] == "住民課"


def test_top_k_and_no_municipality(server):
    r = post(server, "/v1/classify", json={"text": "児童手当の申請をしたい", "top_k": 1})
    body = r.json()
    assert len(body["alternatives"]) == 1
    assert body["route"] is None


def test_batch_answers_in_order(server):
    texts = ["住民票の写しがほしい", "粗大ごみを出したい", "児童手当の申請"] * 5
    r = post(server, "/v1/classify/batch", json={"texts": texts, "municipality": "takamatsu"})
    assert r.status_code == 200, r.text
    results = BatchResponse.model_validate(r.json(), strict=True).model_dump()["results"]
    assert len(results) == 15
    codes = [x["category"]["code"] if x["category"] else None for x in results[:3]]
    assert codes == ["juki", "gomi", "jido_teate"]
    assert [x["category"] for x in results[3:6]] == [x["category"] for x in results[:3]]


def test_catalog_and_health_endpoints(server):
    cats = httpx.get(f"{server.url}/v1/categories").json()
    assert cats["taxonomy_version"] == 1 and len(cats["categories"]) == 31
    munis = {m["id"] for m in httpx.get(f"{server.url}/v1/municipalities").json()["municipalities"]}
    assert munis == {"takamatsu", "sample-town"}
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["status"] == "ready" and ready["model"]["version"] == "1"
    # the MLflow client, pandas and scikit-learn stay out of the serving process
    assert not {"mlflow", "pandas", "sklearn", "torch"} & set(ready["heavy_modules"])
    assert "onnxruntime" in ready["heavy_modules"]  # the ensemble's encoder, loaded before the first request


def test_openapi_docs_carry_japanese_examples(server):
    assert httpx.get(f"{server.url}/docs").status_code == 200
    spec = httpx.get(f"{server.url}/openapi.json").text
    assert "引っ越したので住所変更をしたい" in spec


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        ({"json": {"text": ""}}, 422, "empty_text"),
        ({"json": {"text": "   \n\t "}}, 422, "empty_text"),
        ({"json": {"text": "\u0000\u0001\u0002"}}, 422, "empty_text"),
        ({"json": {"text": "あ" * 5000}}, 422, "text_too_long"),
        ({"json": {"text": "住民票", "municipality": "atlantis"}}, 422, "unknown_municipality"),
        ({"json": {"text": 123}}, 422, "invalid_request"),
        ({"json": {"municipality": "takamatsu"}}, 422, "invalid_request"),
        ({"json": {"text": "住民票", "top_k": 99}}, 422, "invalid_request"),
        ({"content": b'{"text": "unterminated', "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
        ({"content": b"\xff\xfe\x00garbage\x80", "headers": {"content-type": "application/json"}}, 400,
         "invalid_json"),
        ({"content": "住民票".encode("shift_jis"), "headers": {"content-type": "application/json"}}, 400,
         "invalid_json"),
        ({"content": b"text=hello", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"content": b"<xml/>", "headers": {"content-type": "application/xml"}}, 415, "unsupported_media_type"),
    ],
)
def test_bad_input_gets_4xx_with_machine_readable_error(server, kwargs, status, error):
    r = post(server, "/v1/classify", **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error
    assert body["message"] and body["message_ja"]


def test_megabytes_of_text_are_refused(server):
    r = post(server, "/v1/classify", json={"text": "住" * 3_000_000})
    assert r.status_code in (413, 422)
    assert r.json()["error"] in ("payload_too_large", "text_too_long")


def test_oversized_body_is_refused_with_413(server):
    r = post(server, "/v1/classify/batch", content=b"[" + b" " * 30_000_000 + b"]",
             headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"


def test_batch_over_limit_and_bad_item_name_the_problem(server):
    r = post(server, "/v1/classify/batch", json={"texts": ["住民票"] * 1001})
    assert r.status_code == 422 and r.json()["error"] == "batch_too_large"
    r = post(server, "/v1/classify/batch", json={"texts": ["住民票", "", "ごみ"]})
    assert r.status_code == 422
    assert r.json()["error"] == "empty_text" and r.json()["index"] == 1


def test_unknown_path_and_method(server):
    assert httpx.get(f"{server.url}/v1/nothing").json()["error"] == "not_found"
    assert httpx.get(f"{server.url}/v1/classify").json()["error"] == "method_not_allowed"


def test_server_survives_bad_input_and_never_logs_raw_text(server):
    secret = "秘密の相談内容です山田花子090-1111-2222"
    post(server, "/v1/classify", json={"text": secret, "municipality": "takamatsu"})
    post(server, "/v1/classify", content=b"\x00\xff" * 1000, headers={"content-type": "application/json"})
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert server.process.poll() is None
    deadline = time.monotonic() + 10
    while "model=madoguchi-inquiry-router/1 requests=" not in server.log.read_text(encoding="utf-8", errors="replace"):
        assert time.monotonic() < deadline, "no answer summary in the log"
        time.sleep(0.2)
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "秘密" not in log and "山田花子" not in log and "1111-2222" not in log


def test_several_workers_each_load_the_model_answer_and_log(trained_store, tmp_path):
    """`serve --workers 2`: two uvicorn worker processes, each with the model, each logging its answers
    (a worker is a new interpreter: logging set up only in the command's own process would not reach it)."""
    env = {**trained_store.env, "MADOGUCHI_ANSWER_LOG_INTERVAL_S": "0.5"}
    srv = start_server(env, tmp_path / "server.log", extra=("--no-train", "--workers", "2"))
    try:
        deadline = time.monotonic() + 60
        while srv.log.read_text(encoding="utf-8").count("serving model madoguchi-inquiry-router version 1") < 2:
            assert time.monotonic() < deadline, srv.log.read_text(encoding="utf-8")
            time.sleep(0.2)
        log = srv.log.read_text(encoding="utf-8")
        workers = {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", log)}
        assert len(workers) == 2 and srv.process.pid not in workers
        for _ in range(20):  # a new connection each time: the kernel hands them to either worker
            answer = httpx.post(f"{srv.url}/v1/classify", json={"text": "粗大ごみを出したい"}, timeout=10)
            assert answer.status_code == 200 and answer.json()["category"]["code"] == "gomi"
        summary = "madoguchi.answers: model=madoguchi-inquiry-router/1 requests="
        while summary not in srv.log.read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, "no worker logged an answer summary"
            time.sleep(0.2)
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=20)
    for pid in workers:  # the supervisor took its workers down with it
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_first_start_on_an_empty_store_trains_the_default_then_serves(tmp_path):
    """What `make serve` does on a fresh machine: no @champion yet, so the default model is trained first."""
    settings, env = store_settings(tmp_path)
    env = {**env, "MADOGUCHI_DEFAULT_CONFIG": str(TFIDF)}  # the quick backend stands in for the default here
    srv = start_server(env, tmp_path / "server.log", extra=(), timeout=300)
    try:
        ready = httpx.get(f"{srv.url}/readyz").json()
        assert ready["model"] == {"name": settings.model_name, "version": "1", "backend": "tfidf-linear"}
        # training ran in a child process: the server itself never loaded its libraries
        assert not {"mlflow", "sklearn", "pandas"} & set(ready["heavy_modules"])
        answer = post(srv, "/v1/classify", json={"text": "粗大ごみを出したい", "municipality": "sample-town"})
        assert answer.json()["category"]["code"] == "gomi"
        log = srv.log.read_text(encoding="utf-8")
        assert "training the default model" in log and "@champion: held-out macro-F1" in log
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=10)


def test_without_a_model_the_server_stays_up_and_says_why(tmp_path):
    """`serve --no-train` on an empty store: liveness yes, readiness and classify 503 with the reason."""
    _, env = store_settings(tmp_path)
    srv = start_server(env, tmp_path / "server.log", ready="/healthz", timeout=60)
    url = srv.url
    try:
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503 and ready.json()["error"] == "model_not_loaded"
        for path, body in (("/v1/classify", {"text": "住民票がほしい"}), ("/v1/classify/batch", {"texts": ["住民票"]})):
            answer = httpx.post(f"{url}{path}", json=body, timeout=10)
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"] == "model_not_loaded"
            assert "@champion" in answer.json()["message"]
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=10)

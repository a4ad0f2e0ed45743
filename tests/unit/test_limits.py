"""Hostile bodies are refused early: too large (413) before the whole body is read, JSON nested
too deep (422) before FastAPI parses it; ordinary bodies reach the application unchanged."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
from fastapi import Body, FastAPI, Request
from starlette.types import Message

from gongkai_platform.http import install_common
from gongkai_platform.limits import BodyLimits, MiB, json_depth_exceeds

CHUNK = 64 * 1024


def small_app(limits: BodyLimits | None = None) -> FastAPI:
    app = FastAPI()
    install_common(app, "limits-test", limits=limits)

    @app.post("/bureaus/{bureau_id}/things")
    async def things(bureau_id: str, body: Annotated[Any, Body()]) -> dict[str, Any]:
        return {"bureau_id": bureau_id, "body": body}

    @app.post("/bureaus/{bureau_id}/ledger-imports")
    async def upload(bureau_id: str, request: Request) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    return app


class Sender:
    """A client as the ASGI server sees it: counts how much of its body the app pulled."""

    def __init__(self, chunks: int, chunk: bytes = b"x" * CHUNK) -> None:
        self.chunks = chunks
        self.chunk = chunk
        self.pulled = 0
        self.answer: list[Message] = []

    async def receive(self) -> Message:
        if self.pulled >= self.chunks:
            return {"type": "http.disconnect"}
        self.pulled += 1
        return {
            "type": "http.request",
            "body": self.chunk,
            "more_body": self.pulled < self.chunks,
        }

    async def send(self, message: Message) -> None:
        self.answer.append(message)

    @property
    def status(self) -> int:
        return int(self.answer[0]["status"])

    @property
    def detail(self) -> Any:
        body = b"".join(m.get("body", b"") for m in self.answer[1:])
        return json.loads(body)["detail"]


async def call(app: FastAPI, sender: Sender, path: str, headers: dict[str, str]) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    await app(scope, sender.receive, sender.send)


async def test_a_declared_length_over_the_limit_is_refused_without_reading_a_byte() -> None:
    sender = Sender(chunks=10_000)
    headers = {"content-type": "application/json", "content-length": str(2 * MiB)}
    await call(small_app(), sender, "/bureaus/b-1/things", headers)
    assert sender.status == 413
    assert sender.detail == "request body larger than 1 MiB: refused"
    assert sender.pulled == 0


async def test_a_chunked_json_body_is_refused_once_it_passes_the_limit() -> None:
    sender = Sender(chunks=10_000)  # 625 MiB if it were read to the end
    headers = {"content-type": "application/json", "transfer-encoding": "chunked"}
    await call(small_app(), sender, "/bureaus/b-1/things", headers)
    assert sender.status == 413
    assert sender.pulled == MiB // CHUNK + 1


async def test_a_streamed_upload_is_cut_off_at_its_route_limit() -> None:
    limits = BodyLimits(routes={"/bureaus/{bureau_id}/ledger-imports": 2 * MiB})
    sender = Sender(chunks=10_000)
    headers = {"content-type": "multipart/form-data; boundary=x", "transfer-encoding": "chunked"}
    await call(small_app(limits), sender, "/bureaus/b-1/ledger-imports", headers)
    assert sender.status == 413
    assert sender.detail == "request body larger than 2 MiB: refused"
    assert sender.pulled == 2 * MiB // CHUNK + 1


async def test_the_ledger_upload_may_be_larger_than_a_json_command() -> None:
    app = small_app()
    body = b"x" * (5 * MiB)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        upload = await client.post(
            "/bureaus/b-1/ledger-imports",
            content=body,
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
        command = await client.post(
            "/bureaus/b-1/things", content=body, headers={"content-type": "application/json"}
        )
        too_big = await client.post(
            "/bureaus/b-1/ledger-imports",
            content=b"x" * (20 * MiB + 1),
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
    assert upload.status_code == 200, upload.text
    assert upload.json() == {"size": 5 * MiB}
    assert command.status_code == 413
    assert too_big.status_code == 413
    assert too_big.json() == {"detail": "request body larger than 20 MiB: refused"}


async def post_json(app: FastAPI, raw: bytes | str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        return await client.post(
            "/bureaus/b-1/things",
            content=raw.encode() if isinstance(raw, str) else raw,
            headers={"content-type": "application/json"},
        )


def nested(depth: int) -> str:
    return '{"a": ' * (depth - 1) + "[1]" + "}" * (depth - 1)


async def test_json_nested_deeper_than_32_levels_is_refused_before_parsing() -> None:
    app = small_app()
    ok = await post_json(app, nested(32))
    deep = await post_json(app, nested(33))
    assert ok.status_code == 200, ok.text
    assert json.dumps(ok.json()["body"]) == nested(32)
    assert deep.status_code == 422
    assert deep.json()["detail"][0]["msg"] == "JSON nested deeper than 32 levels: refused"
    assert deep.json()["detail"][0]["type"] == "json_too_deep"


async def test_a_hundred_thousand_levels_are_refused_quickly() -> None:
    started = time.perf_counter()
    answer = await post_json(small_app(), "[" * 100_000 + "]" * 100_000)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["type"] == "json_too_deep"
    assert time.perf_counter() - started < 2


async def test_brackets_inside_strings_do_not_count() -> None:
    text = '[[{"\\"": "]]]' + "[" * 100 + '\\\\"}]]'
    answer = await post_json(small_app(), text)
    assert answer.status_code == 200, answer.text
    assert answer.json()["body"] == json.loads(text)


async def test_malformed_json_is_left_to_fastapi() -> None:
    answer = await post_json(small_app(), '{"a": [1, 2')
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["type"] == "json_invalid"


async def test_the_depth_limit_is_configurable() -> None:
    app = small_app(BodyLimits(max_json_depth=3))
    assert (await post_json(app, nested(3))).status_code == 200
    refused = await post_json(app, nested(4))
    assert refused.json()["detail"][0]["msg"] == "JSON nested deeper than 3 levels: refused"


async def test_a_body_streamed_within_the_limit_reaches_the_app_whole() -> None:
    body = json.dumps({"rows": ["行" * 10] * 20_000}, ensure_ascii=False).encode()
    assert MiB / 2 < len(body) < MiB

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 4096):
            yield body[i : i + 4096]

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=small_app()), base_url="http://t"
    ) as client:
        answer = await client.post(
            "/bureaus/b-1/things", content=chunks(), headers={"content-type": "application/json"}
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["body"] == json.loads(body)


def test_the_depth_scan_stays_linear_on_hostile_strings() -> None:
    # Unterminated strings full of escapes: a backtracking string pattern would take minutes.
    for body in (b'"\\"' * 300_000, b'["\\' * 300_000, b"[" * 33 + b'"' + b"\\" * 500_000):
        started = time.perf_counter()
        json_depth_exceeds(body, 32)
        assert time.perf_counter() - started < 2, body[:12]
    assert json_depth_exceeds(b"[" * 33 + b'"' + b"\\" * 500_000, 32)
    assert not json_depth_exceeds(b'["' + b"[" * 1000 + b'"]', 32)


async def test_text_postgresql_cannot_store_is_refused_naming_the_field() -> None:
    app = small_app()
    nul = await post_json(app, '{"title": "ok", "parts": [{"text": "a\\u0000b"}]}')
    lone = await post_json(app, '{"summary": "\\udb3e alone"}')
    pair = await post_json(app, '{"summary": "\\ud83d\\ude00 \\u516c\\u5f00"}')
    assert nul.status_code == 422
    assert nul.json()["detail"][0]["loc"] == ["body", "parts", 0, "text"]
    assert "NUL" in nul.json()["detail"][0]["msg"]
    assert lone.status_code == 422
    assert lone.json()["detail"][0]["loc"] == ["body", "summary"]
    assert "surrogate" in lone.json()["detail"][0]["msg"]
    assert pair.status_code == 200, "a proper pair and ordinary escapes are text like any other"
    assert pair.json()["body"]["summary"] == "😀 公开"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        query = await client.post("/bureaus/b-1/things?q=%00", json={"a": 1})
    assert query.status_code == 422
    assert query.json()["detail"][0]["loc"] == ["query"]

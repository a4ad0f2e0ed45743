"""Early refusal of hostile request bodies: too large (413) or JSON nested too deep (422),
decided before the application reads or parses them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MiB = 1024 * 1024

# The one upload of the platform: a ledger (台账) file, itself limited to 10 MB by the
# requests service, sent as multipart form data (with its boundaries and other fields).
UPLOAD_ROUTES: Mapping[str, int] = {"/bureaus/{bureau_id}/ledger-imports": 20 * MiB}


@dataclass(frozen=True)
class BodyLimits:
    """How large a request body may be, per route, and how deep its JSON may nest.

    `routes` maps path templates (`{name}` stands for one path segment) to their own limit;
    every other path gets `default_bytes`."""

    default_bytes: int = 1 * MiB
    routes: Mapping[str, int] = field(default_factory=lambda: dict(UPLOAD_ROUTES))
    max_json_depth: int = 32

    def for_path(self, path: str) -> int:
        for pattern, limit in _compiled(tuple(self.routes.items())):
            if pattern.fullmatch(path):
                return limit
        return self.default_bytes


_PATTERNS: dict[tuple[tuple[str, int], ...], list[tuple[re.Pattern[str], int]]] = {}


def _compiled(routes: tuple[tuple[str, int], ...]) -> list[tuple[re.Pattern[str], int]]:
    if routes not in _PATTERNS:
        _PATTERNS[routes] = [
            (re.compile(re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(template))), limit)
            for template, limit in routes
        ]
    return _PATTERNS[routes]


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a body without a (truthful) Content-Length passes its limit:
    FastAPI re-raises HTTPExceptions met while reading a body, so the caller gets the 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


def _too_large(limit: int) -> str:
    size = f"{limit // MiB} MiB" if limit % MiB == 0 else f"{limit} bytes"
    return f"request body larger than {size}: refused"


# A JSON string, also one left unterminated (then it runs to the end): written so that the
# regex engine never backtracks, whatever the input.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_BRACKETS = re.compile(rb"[\[{]+|[\]}]+")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether arrays and objects in `body` nest deeper than `limit`, without parsing it:
    brackets inside strings do not count. Malformed JSON is left to the parser."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for run in _BRACKETS.finditer(_STRING.sub(b"", body)):
        if run.group()[0] in b"[{":
            depth += len(run.group())
            if depth > limit:
                return True
        else:
            depth = max(0, depth - len(run.group()))
    return False


def _unstorable(loc: list[str | int], what: str) -> dict[str, object]:
    return {
        "type": "unstorable_text",
        "loc": loc,
        "msg": f"{what} cannot be stored: remove it",
        "input": None,
    }


def unstorable_text(body: bytes) -> dict[str, object] | None:
    """Text PostgreSQL cannot store — a NUL character or half of a UTF-16 surrogate pair, both
    only writable in JSON as \\u escapes — with where it is; None when there is none."""
    if b"\\u" not in body:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None  # malformed JSON: the parser answers with its own 422

    def walk(value: object, loc: list[str | int]) -> dict[str, object] | None:
        if isinstance(value, str):
            if "\x00" in value:
                return _unstorable(loc, "a NUL character (\\u0000)")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return _unstorable(loc, "an unpaired surrogate (\\ud800–\\udfff)")
            return None
        children: list[tuple[str | int, object]] = []
        if isinstance(value, dict):
            for key, child in value.items():
                found = walk(key, [*loc, key])
                if found:
                    return found
                children.append((key, child))
        elif isinstance(value, list):
            children = list(enumerate(value))
        for key, child in children:
            found = walk(child, [*loc, key])
            if found:
                return found
        return None

    return walk(document, ["body"])


def _is_json(content_type: str) -> bool:
    # FastAPI parses a body without a content type as JSON too.
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("", "application/json") or media.endswith("+json")


class BodyLimitMiddleware:
    """Pure ASGI: a declared Content-Length over the limit is refused before a byte is read;
    a JSON body is read (counting, up to the limit) and checked for depth before the app sees
    it; any other body is counted as the app streams it and refused when it passes the limit."""

    def __init__(self, app: ASGIApp, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b""):
            await _answer(send, 422, [_unstorable(["query"], "a NUL character (%00)")])
            return
        limit = self.limits.for_path(scope["path"])
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _answer(send, 413, _too_large(limit))
            return
        if "content-length" not in headers and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body at all
            return
        if _is_json(headers.get("content-type", "")):
            body, rest = await _read_json_body(receive, limit)
            if body is None:
                await _answer(send, 413, _too_large(limit))
                return
            if json_depth_exceeds(body, self.limits.max_json_depth):
                await _answer(send, 422, _too_deep(self.limits.max_json_depth))
                return
            unstorable = unstorable_text(body)
            if unstorable is not None:
                await _answer(send, 422, [unstorable])
                return
            await self.app(scope, _replay(body, rest, receive), send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _counting(receive, limit), watching_send)
        except BodyTooLarge as refused:
            if started:
                raise
            await _answer(send, 413, refused.detail)


async def _read_json_body(receive: Receive, limit: int) -> tuple[bytes | None, list[Message]]:
    """The whole body, or None as soon as it passes `limit` (the rest is never read); and a
    disconnect met while reading, to be handed on."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, []
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), []


def _replay(body: bytes, rest: list[Message], receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *rest]

    async def replayed() -> Message:
        # After the body, whatever the server says next (a disconnect) comes through.
        return pending.pop(0) if pending else await receive()

    return replayed


def _counting(receive: Receive, limit: int) -> Receive:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


def _too_deep(limit: int) -> list[dict[str, object]]:
    return [
        {
            "type": "json_too_deep",
            "loc": ["body"],
            "msg": f"JSON nested deeper than {limit} levels: refused",
            "input": None,
        }
    ]


async def _answer(send: Send, status: int, detail: object) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

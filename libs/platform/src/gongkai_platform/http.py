"""What every service's HTTP API shares: errors, body limits, metrics per request, health and
/metrics."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import forbidden
from .errors import DomainError, ForbiddenError, NotFoundError, TransitionError
from .eventstore import ConcurrencyError
from .limits import BodyLimitMiddleware, BodyLimits
from .metrics import CONSUMER_LAG, HTTP_LATENCY, HTTP_REQUESTS, UNMATCHED_ROUTE, metrics_response


class MetricsMiddleware:
    """Pure ASGI: each request counted by method, route template and status, with its latency.

    The trace of a request is FastAPI's own (its native OpenTelemetry support, on whenever
    setup_telemetry has set a tracer provider): a server span continuing the caller's
    `traceparent`, current while the endpoint runs, so the events it appends carry it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app answers: an exception escaping it becomes a 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            method, route = scope["method"], _route_of(scope)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def install_common(app: FastAPI, service_name: str, *, limits: BodyLimits | None = None) -> None:
    """Error answers, body limits (`limits`, default: 1 MiB of JSON nested at most 32 deep,
    20 MiB for the ledger upload), metrics of every request, /health, /metrics."""
    # The last middleware added runs first: requests refused for their body are counted too.
    app.add_middleware(BodyLimitMiddleware, limits=limits)
    app.add_middleware(MetricsMiddleware)

    @app.exception_handler(ConcurrencyError)
    async def conflict(_: Request, exc: ConcurrencyError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(TransitionError)
    async def impossible(_: Request, exc: TransitionError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(NotFoundError)
    async def unknown(_: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(ForbiddenError)
    async def not_theirs(request: Request, exc: ForbiddenError) -> JSONResponse:
        who = getattr(request.state, "principal", None)
        if who is None:
            raise RuntimeError("ForbiddenError raised before the caller was known") from exc
        refusal = forbidden(request, who, str(exc))
        return JSONResponse(status_code=403, content={"detail": refusal.detail})

    @app.exception_handler(DomainError)
    async def refused(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={"detail": [{"loc": ["body", exc.field], "msg": exc.message}]},
        )

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, object]:
        """Alive (200); `consumers`: how many of this process's Kafka consumers have joined
        their group and have partitions — until all have, events wait to be applied."""
        joined, running = CONSUMER_LAG.joined()
        return {
            "status": "ok",
            "service": service_name,
            "consumers": {"joined": joined, "running": running},
        }

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus text: requests by route and status, consumer lag, DLQ messages, …"""
        return await metrics_response(app)

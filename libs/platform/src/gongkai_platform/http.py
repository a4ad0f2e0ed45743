"""What every service's HTTP API shares: errors, tracing of each request, health."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry import trace

from .auth import forbidden
from .errors import DomainError, ForbiddenError, NotFoundError, TransitionError
from .eventstore import ConcurrencyError
from .telemetry import context_from


def install_common(app: FastAPI, service_name: str) -> None:
    tracer = trace.get_tracer(service_name)

    @app.middleware("http")
    async def traced(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        parent = context_from(request.headers)
        name = f"{request.method} {request.url.path}"
        with tracer.start_as_current_span(name, context=parent, kind=trace.SpanKind.SERVER) as span:
            response = await call_next(request)
            span.set_attribute("http.status_code", response.status_code)
            return response

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
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": service_name}

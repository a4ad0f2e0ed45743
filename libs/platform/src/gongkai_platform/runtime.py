"""Running service processes: the HTTP API under uvicorn, and the relay."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request

from gongkai_contracts.topics import Service, events_topic

from .db import close_pool, create_pool, migrate
from .eventstore import PostgresEventStore
from .relay import Relay, make_producer
from .settings import ServiceSettings
from .telemetry import setup_telemetry

log = logging.getLogger(__name__)


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def serve_http(app: FastAPI, settings: ServiceSettings) -> None:
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        timeout_graceful_shutdown=5,
        # libuv's loop and the C HTTP parser: less CPU per request than asyncio's and h11.
        loop="uvloop",
        http="httptools",
    )


async def run_relay(
    settings: ServiceSettings, service: Service, migrations: Path | None = None
) -> None:
    """The relay process of one writing service; its Prometheus metrics (published, backlog)
    are served on `relay_metrics_port` when that is set (`<SERVICE>_RELAY_METRICS_PORT`)."""
    setup_telemetry(f"{service}-relay", settings.otlp_endpoint, log_level=settings.log_level)
    await migrate(settings.database_url, *([migrations] if migrations else []))
    pool = await create_pool(settings.database_url, max_size=2)
    producer = make_producer(settings.kafka_bootstrap_servers)
    await producer.start()
    stop = stop_on_signals()
    relay = Relay(pool, producer, events_topic(service))
    metrics_server = None
    if settings.relay_metrics_port:
        from prometheus_client import start_http_server

        metrics_server, _ = start_http_server(settings.relay_metrics_port, settings.http_host)
        log.info("relay metrics on %s:%d", settings.http_host, settings.relay_metrics_port)
    log.info("relay for %s started at position %d", service, await relay.cursor())
    try:
        await relay.run(stop)
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
        await producer.stop()
        await close_pool(pool)
        log.info("relay for %s stopped after %d events", service, relay.published)


def event_store_lifespan(
    settings: ServiceSettings, migrations: Path
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Lifespan of a writing service's API: migrate, open the pool, expose the event store."""

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        await migrate(settings.database_url, migrations)
        pool = await create_pool(settings.database_url, max_size=10)
        app.state.pool = pool
        app.state.store = PostgresEventStore(pool)
        try:
            yield
        finally:
            await close_pool(pool)

    return run


async def event_store(request: Request) -> PostgresEventStore:
    """FastAPI dependency: the service's event store."""
    return request.app.state.store  # type: ignore[no-any-return]

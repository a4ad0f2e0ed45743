"""The one place that wires the reporting service: pool, migrations, projection consumers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from gongkai_contracts.envelope import utcnow
from gongkai_contracts.topics import events_topic
from gongkai_platform.consumer import ConsumerRunner, Handler, running
from gongkai_platform.db import close_pool, create_pool, migrate
from gongkai_platform.eventstore import PostgresEventStore

from .adapters.central_store import FiguresKeeper
from .config import Settings
from .projections.report_facts import CatalogueFactsProjection, RequestFactsProjection
from .projections.request_outcomes import RequestOutcomesProjection
from .projections.requests_received import RequestsReceivedProjection
from .self_assessment.scoring import DEFAULT_SCHEME, scheme_from_dict
from .sign_off import china_date

MIGRATIONS = Path(__file__).parent / "migrations"


def projections() -> list[tuple[Handler, str]]:
    """Every projection with the topic it folds (the replay rebuilds the same list)."""
    requests, catalogue = events_topic("requests"), events_topic("catalogue")
    return [
        (RequestsReceivedProjection(), requests),
        (RequestOutcomesProjection(), requests),
        (RequestFactsProjection(), requests),
        (CatalogueFactsProjection(), catalogue),
    ]


def lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        scheme = DEFAULT_SCHEME
        if settings.self_assessment_scheme is not None:
            scheme = scheme_from_dict(
                json.loads(settings.self_assessment_scheme.read_text("utf-8"))
            )
        app.state.self_assessment_scheme = scheme
        await migrate(settings.database_url, MIGRATIONS)
        pool = await create_pool(settings.database_url, max_size=10)
        # One runner per projection: each keeps its own offsets and stream versions, so a new
        # projection replays the topic from offset 0 without disturbing the others.
        runners = [
            ConsumerRunner(
                pool, projection, [topic], settings.kafka_bootstrap_servers, batch_spans=True
            )
            for projection, topic in projections()
        ]
        app.state.pool = pool
        # Reporting writes its own events (sign-offs) to its outbox; the relay publishes them.
        app.state.store = PostgresEventStore(pool)
        app.state.clock = utcnow
        app.state.runners = runners
        # The central office's figures per bureau and year, kept computed ahead.
        keeper = FiguresKeeper(pool, lambda: china_date(app.state.clock()).year)
        app.state.figures_keeper = keeper
        try:
            async with running(runners), keeper:
                yield
        finally:
            await close_pool(pool)

    return run

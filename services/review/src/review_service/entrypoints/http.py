"""HTTP API of the review service. The staged review workflow (保密审查) arrives with its issue;
today the service runs its API, migrations and relay so the platform's shape is complete."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from gongkai_platform.http import install_common
from gongkai_platform.runtime import event_store_lifespan
from gongkai_platform.telemetry import setup_telemetry

from ..config import Settings

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def create_app(settings: Settings) -> FastAPI:
    setup_telemetry("review", settings.otlp_endpoint, log_level=settings.log_level)
    app = FastAPI(
        title="Gongkai review (保密审查)", lifespan=event_store_lifespan(settings, MIGRATIONS)
    )
    install_common(app, "review")
    return app

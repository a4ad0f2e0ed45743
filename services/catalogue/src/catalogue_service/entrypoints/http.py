"""HTTP API of the catalogue service: bureaus today; items and index numbers with their issue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from gongkai_contracts import Actor
from gongkai_contracts.envelope import Role
from gongkai_platform.eventstore import PostgresEventStore
from gongkai_platform.http import install_common
from gongkai_platform.runtime import event_store, event_store_lifespan
from gongkai_platform.telemetry import setup_telemetry

from ..config import Settings
from ..domain.bureau import RegisterBureau
from ..handlers import bureau_stream, register_bureau

MIGRATIONS = Path(__file__).parent.parent / "migrations"


class RegisterBureauBody(BaseModel):
    """A bureau as the central office registers it."""

    model_config = ConfigDict(extra="forbid")
    bureau_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    organisation_code: str = Field(description="统一社会信用代码 or 组织机构代码")
    region: str = Field(min_length=1, max_length=100)
    parent_id: str | None = Field(None, max_length=64)


def current_actor() -> Actor:
    # Tokens arrive with the trust issue; until then every caller acts as the central office.
    return Actor(user_id="anonymous", role=Role.CENTRAL_OFFICE)


def create_app(settings: Settings) -> FastAPI:
    setup_telemetry("catalogue", settings.otlp_endpoint, log_level=settings.log_level)
    app = FastAPI(
        title="Gongkai catalogue (公开目录)", lifespan=event_store_lifespan(settings, MIGRATIONS)
    )
    install_common(app, "catalogue")

    @app.post("/bureaus", status_code=201)
    async def post_bureau(
        body: RegisterBureauBody,
        actor: Annotated[Actor, Depends(current_actor)],
        events: Annotated[PostgresEventStore, Depends(event_store)],
    ) -> dict[str, str]:
        envelope = await register_bureau(events, RegisterBureau(**body.model_dump()), actor)
        return {"bureau_id": body.bureau_id, "event_id": str(envelope.event_id)}

    @app.get("/bureaus/{bureau_id}")
    async def get_bureau(
        bureau_id: str, events: Annotated[PostgresEventStore, Depends(event_store)]
    ) -> dict[str, object]:
        history = await events.load(bureau_stream(bureau_id))
        if not history:
            raise HTTPException(404, f"bureau {bureau_id} is not registered")
        return {"bureau_id": bureau_id, **history[0].data}

    return app

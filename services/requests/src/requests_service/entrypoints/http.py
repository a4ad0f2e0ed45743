"""HTTP API of the requests service: commands as POST, its own queries as GET."""

from __future__ import annotations

from datetime import date
from pathlib import Path as PathLib
from typing import Annotated
from uuid import uuid4

from fastapi import Depends, FastAPI, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from gongkai_contracts import Actor
from gongkai_contracts.envelope import Role
from gongkai_contracts.vocabulary import ApplicantCategory, Channel
from gongkai_platform.eventstore import PostgresEventStore
from gongkai_platform.http import install_common
from gongkai_platform.runtime import event_store, event_store_lifespan
from gongkai_platform.telemetry import setup_telemetry

from ..config import Settings
from ..domain.request import RegisterRequest
from ..handlers import register_request, stream_of
from .clock import today_in_china

MIGRATIONS = PathLib(__file__).parent.parent / "migrations"
BureauId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class RegisterRequestBody(BaseModel):
    """A request as the clerk registers it."""

    model_config = ConfigDict(extra="forbid")
    request_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description=(
            "Optional; a retried POST with the same id and details answers 200 with the "
            "original registration instead of registering twice."
        ),
    )
    channel: Channel
    applicant_category: ApplicantCategory
    received_on: date = Field(description="收到申请之日 (条例 第三十一条)")
    description: str = Field(min_length=1, max_length=4000)
    requested_form: str | None = Field(None, max_length=200)


class Registered(BaseModel):
    request_id: str
    event_id: str
    stream_version: int


def current_actor() -> Actor:
    # Tokens arrive with the trust issue; until then every caller is an anonymous clerk.
    return Actor(user_id="anonymous", role=Role.CLERK)


def create_app(settings: Settings) -> FastAPI:
    setup_telemetry("requests", settings.otlp_endpoint, log_level=settings.log_level)
    app = FastAPI(
        title="Gongkai requests (依申请公开)",
        lifespan=event_store_lifespan(settings, MIGRATIONS),
    )
    install_common(app, "requests")

    @app.post(
        "/bureaus/{bureau_id}/requests",
        status_code=201,
        response_model=Registered,
        responses={200: {"model": Registered, "description": "Already registered (a retry)"}},
    )
    async def post_request(
        response: Response,
        bureau_id: BureauId,
        body: RegisterRequestBody,
        actor: Annotated[Actor, Depends(current_actor)],
        events: Annotated[PostgresEventStore, Depends(event_store)],
    ) -> Registered:
        command = RegisterRequest(
            bureau_id=bureau_id,
            request_id=body.request_id or uuid4().hex,
            channel=body.channel,
            applicant_category=body.applicant_category,
            applicant_ref=uuid4().hex,
            received_on=body.received_on,
            description=body.description,
            requested_form=body.requested_form,
        )
        envelope, created = await register_request(events, command, actor, today_in_china())
        if not created:
            response.status_code = 200
        return Registered(
            request_id=envelope.data["request_id"],
            event_id=str(envelope.event_id),
            stream_version=envelope.stream_version,
        )

    @app.get("/bureaus/{bureau_id}/requests/{request_id}/events")
    async def request_events(
        bureau_id: BureauId,
        request_id: str,
        events: Annotated[PostgresEventStore, Depends(event_store)],
    ) -> list[dict[str, object]]:
        envelopes = await events.load(stream_of(bureau_id, request_id))
        if not envelopes:
            raise HTTPException(404, f"bureau {bureau_id} has no request {request_id}")
        return [e.model_dump(mode="json") for e in envelopes]

    return app

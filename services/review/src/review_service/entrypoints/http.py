"""HTTP API of the review service (保密审查): commands as POST, its own queries as GET; the
consumer that opens a case for every submission runs in the same process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from gongkai_contracts.vocabulary import ReviewSubject
from gongkai_platform.auth import BureauHead, Principal, Reader, Reviewer
from gongkai_platform.consumer import ConsumerRunner, running
from gongkai_platform.db import close_pool, create_pool, migrate
from gongkai_platform.errors import NotFoundError
from gongkai_platform.http import install_common
from gongkai_platform.telemetry import setup_telemetry

from ..adapters.repository import ReviewRepository
from ..config import Settings
from ..domain.assignment import MAX_REVIEWERS, MAX_USER_ID, Assignment
from ..domain.case import CaseState, ReviewCase
from ..domain.grounds import WithholdingGround
from ..domain.stages import MAX_STAGE_NAME, MAX_STAGES
from ..handlers import Decision, act_at_stage, assign_stages, fold_history, load
from ..reactions.when_submitted_for_review_open_case import WhenSubmittedForReviewOpenCase
from .record import record_html, written_record

MIGRATIONS = FilePath(__file__).parent.parent / "migrations"
Id = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
StageName = Annotated[str, Field(min_length=1, max_length=MAX_STAGE_NAME)]
UserId = Annotated[str, Field(min_length=1, max_length=MAX_USER_ID)]
Grounds = Annotated[
    list[WithholdingGround],
    Field(
        default_factory=list,
        max_length=len(WithholdingGround),
        description="不予公开的依据, 条例 第十四、十五、十六条: what must not be disclosed and why",
    ),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageBody(Body):
    """A stage (审查环节) and the user ids of the reviewers who may act at it."""

    name: StageName
    reviewers: list[UserId] = Field(min_length=1, max_length=MAX_REVIEWERS)


class StagesBody(Body):
    """The bureau's review stages in order, each with its reviewers. Cases opened from now on
    take these stages (open cases keep the stages they opened with); the reviewers assigned now
    act at every case, open ones included."""

    stages: list[StageBody] = Field(min_length=1, max_length=MAX_STAGES)


class StageCompletionBody(Body):
    """A reviewer assigned to the case's current stage agrees; the last stage's agreement
    approves. The signature (审查人) is the reviewer's token: their name, else their user id."""

    stage: StageName = Field(description="the stage completed: must be the case's current stage")
    opinion: str = Field(min_length=1, max_length=4000, description="审查意见")
    withholding_grounds: Grounds


class RejectionBody(Body):
    """A reviewer assigned to the current stage does not agree: the case closes as rejected."""

    stage: StageName = Field(description="the stage rejecting: must be the case's current stage")
    reasons: str = Field(min_length=1, max_length=4000, description="不同意公开的理由")
    withholding_grounds: Grounds


class ReferralBody(Body):
    """条例 第十七条: the current stage cannot decide and asks the competent department or the
    secrecy administration (保密行政管理部门) to determine."""

    stage: StageName = Field(description="the stage referring: must be the case's current stage")
    referred_to: str = Field(min_length=1, max_length=200, description="报送机关")
    question: str = Field(min_length=1, max_length=4000, description="请示事项")


class ReferralAnswerBody(Body):
    """The determination of the body the case was referred to; it completes the stage that
    referred (or rejects the case when it says the information is not to be disclosed)."""

    answered_by: str | None = Field(
        None, min_length=1, max_length=200, description="defaults to the body referred to"
    )
    opinion: str = Field(min_length=1, max_length=4000, description="答复意见")
    disclose: bool = Field(description="true: 可以公开 (the stage passes); false: 不予公开")
    withholding_grounds: Grounds


async def repo_of(request: Request) -> ReviewRepository:
    return request.app.state.repo  # type: ignore[no-any-return]


def now() -> datetime:
    return datetime.now(UTC)


Repo = Annotated[ReviewRepository, Depends(repo_of)]


def lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        await migrate(settings.database_url, MIGRATIONS)
        pool = await create_pool(settings.database_url, max_size=10)
        repo = ReviewRepository(pool)
        app.state.repo = repo
        runner = ConsumerRunner(
            pool,
            WhenSubmittedForReviewOpenCase(repo),
            settings.source_topics,
            settings.kafka_bootstrap_servers,
        )
        app.state.consumer = runner
        try:
            async with running([runner]):
                yield
        finally:
            await close_pool(pool)

    return run


def case_view(state: ReviewCase) -> dict[str, Any]:
    pending = state.pending_referral
    return {
        "case_id": state.case_id,
        "subject": state.subject.kind.value,
        "subject_id": state.subject.subject_id,
        "subject_version": state.subject.version,
        "state": state.state.value,
        "stages": list(state.stages),
        "current_stage": state.current_stage,
        "awaiting_referral": pending.referred_to if pending else None,
        "results": [
            {
                "stage": r.stage,
                "reviewer": r.reviewer,
                "recorded_by": r.recorded_by,
                "opinion": r.opinion,
                "withholding_grounds": [g.value for g in r.grounds],
                "passed": r.passed,
                "by_referral": r.by_referral,
                "at": r.at,
            }
            for r in state.results
        ],
        "referrals": [
            {
                "stage": r.stage,
                "referred_to": r.referred_to,
                "question": r.question,
                "at": r.at,
                "answered_by": r.answered_by,
                "answer": r.answer,
                "answered_at": r.answered_at,
            }
            for r in state.referrals
        ],
        "reasons": state.reasons,
        "opened_at": state.opened_at,
        "closed_at": state.closed_at,
    }


def assignment_view(assignment: Assignment) -> dict[str, Any]:
    return {
        "bureau_id": assignment.bureau_id,
        "stages": [{"name": s.name, "reviewers": list(s.reviewers)} for s in assignment.stages],
        "default": assignment.default,
    }


def create_app(settings: Settings) -> FastAPI:
    setup_telemetry("review", settings.otlp_endpoint, log_level=settings.log_level)
    app = FastAPI(title="Gongkai review (保密审查)", lifespan=lifespan(settings))
    install_common(app, "review")
    base = "/bureaus/{bureau_id}/reviews"

    async def command(
        repo: ReviewRepository,
        bureau_id: str,
        case_id: str,
        reviewer: Principal,
        decide: Decision,
        *,
        signs: bool,
    ) -> dict[str, Any]:
        outcome = await act_at_stage(
            repo, bureau_id, case_id, reviewer.actor, now(), decide, signs=signs
        )
        return {**case_view(outcome.state), "events": [e.event_type for e in outcome.envelopes]}

    @app.get("/bureaus/{bureau_id}/review-stages")
    async def get_stages(bureau_id: Id, _: Reader, repo: Repo) -> dict[str, Any]:
        """The stages new cases of this bureau open with and who reviews at each; `default`
        (初审, 复审, 终审 with nobody assigned) until the bureau head sets them."""
        return assignment_view(await repo.assignment(bureau_id))

    @app.put("/bureaus/{bureau_id}/review-stages")
    async def put_stages(
        bureau_id: Id, body: StagesBody, head: BureauHead, repo: Repo
    ) -> dict[str, Any]:
        """The bureau head sets the stages (e.g. 初审, 复审, 终审) and assigns their reviewers;
        open cases keep their stages, and are reviewed by the reviewers assigned now."""
        stages = [(s.name, s.reviewers) for s in body.stages]
        return assignment_view(await assign_stages(repo, bureau_id, stages, head.actor, now()))

    @app.post(f"{base}/{{case_id}}/stage-completions")
    async def complete_stage(
        bureau_id: Id, case_id: Id, body: StageCompletionBody, who: Reviewer, repo: Repo
    ) -> dict[str, Any]:
        """ReviewStageCompleted signed by the reviewer; after the last stage also
        ReviewApproved. 403 unless the reviewer is assigned to the current stage and has not
        signed another stage of the case."""
        return await command(
            repo,
            bureau_id,
            case_id,
            who,
            lambda s: s.complete_stage(
                body.stage, who.signature, body.opinion, body.withholding_grounds
            ),
            signs=True,
        )

    @app.post(f"{base}/{{case_id}}/rejection")
    async def reject(
        bureau_id: Id, case_id: Id, body: RejectionBody, who: Reviewer, repo: Repo
    ) -> dict[str, Any]:
        """The stage's opinion (ReviewStageCompleted, signed by the reviewer) and
        ReviewRejected: the case is closed. 403 as for a completion."""
        return await command(
            repo,
            bureau_id,
            case_id,
            who,
            lambda s: s.reject(body.stage, who.signature, body.reasons, body.withholding_grounds),
            signs=True,
        )

    @app.post(f"{base}/{{case_id}}/referral")
    async def refer(
        bureau_id: Id, case_id: Id, body: ReferralBody, who: Reviewer, repo: Repo
    ) -> dict[str, Any]:
        """ReviewReferred; the case waits for the answer before any stage can move. 403 unless
        the reviewer is assigned to the current stage."""
        return await command(
            repo,
            bureau_id,
            case_id,
            who,
            lambda s: s.refer(body.stage, body.referred_to, body.question),
            signs=False,
        )

    @app.post(f"{base}/{{case_id}}/referral-answer")
    async def answer_referral(
        bureau_id: Id, case_id: Id, body: ReferralAnswerBody, who: Reviewer, repo: Repo
    ) -> dict[str, Any]:
        """The answer completes the referring stage (ReviewStageCompleted signed by the body
        that answered), then ReviewApproved after the last stage; ReviewRejected if not to
        disclose. Recorded by a reviewer assigned to the referring stage (else 403)."""
        return await command(
            repo,
            bureau_id,
            case_id,
            who,
            lambda s: s.answer_referral(
                body.answered_by, body.opinion, body.disclose, body.withholding_grounds
            ),
            signs=False,
        )

    @app.get(base)
    async def list_cases(
        bureau_id: Id,
        _: Reader,
        repo: Repo,
        state: CaseState | None = None,
        subject: ReviewSubject | None = None,
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0),
    ) -> list[dict[str, Any]]:
        """The bureau's cases in the order they opened: open (awaiting a stage or a referral's
        answer), approved or rejected."""
        return await repo.summaries(
            bureau_id,
            state=state.value if state else None,
            subject=subject.value if subject else None,
            limit=limit,
            offset=offset,
        )

    @app.get(f"{base}/{{case_id}}")
    async def one_case(bureau_id: Id, case_id: Id, _: Reader, repo: Repo) -> dict[str, Any]:
        """The case as it stands, with its history: every event as stored."""
        history = await load(repo, bureau_id, case_id)
        details = await repo.details(bureau_id, case_id)
        return {
            **case_view(fold_history(history)),
            "bureau_id": bureau_id,
            "title": details.title if details else None,
            "history": [json.loads(e.to_json()) for e in history],
        }

    @app.get(f"{base}/{{case_id}}/record", response_model=None)
    async def record(
        bureau_id: Id,
        case_id: Id,
        _: Reader,
        repo: Repo,
        output: Literal["json", "html"] = Query("json", alias="format"),
    ) -> dict[str, Any] | HTMLResponse:
        """书面审查记录: the subject, each stage's reviewer, opinion and time, the grounds for
        withholding and the conclusion; `?format=html` gives the printable page."""
        history = await load(repo, bureau_id, case_id)
        details = await repo.details(bureau_id, case_id)
        if details is None:
            raise NotFoundError(f"bureau {bureau_id} has no review case {case_id}")
        written = written_record(bureau_id, fold_history(history), details)
        if output == "html":
            return HTMLResponse(record_html(written))
        return written

    return app

"""HTTP API of the requests service: commands as POST, its own queries as GET."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote
from uuid import uuid4

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from gongkai_contracts import Actor
from gongkai_contracts.topics import events_topic
from gongkai_contracts.vocabulary import (
    APPLICANT_CATEGORY_LABELS,
    REPLY_OUTCOME_LABELS,
    ApplicantCategory,
    Channel,
    ReplyOutcome,
)
from gongkai_platform.auth import BureauHead, CentralOffice, Clerk, Reader
from gongkai_platform.consumer import ConsumerRunner, running
from gongkai_platform.db import close_pool, create_pool, migrate
from gongkai_platform.http import install_common
from gongkai_platform.metrics import add_scrape_source
from gongkai_platform.telemetry import setup_telemetry

from .. import cases
from ..adapters.applicants import ApplicantDetails, ApplicantVault
from ..adapters.metrics import OpenRequestsMetrics
from ..adapters.repository import RequestRepository, envelopes_json
from ..config import Settings
from ..domain.calendar import YearCalendar
from ..domain.case import CaseKind
from ..domain.fees import FeeScheme
from ..domain.request import RegisterRequest, Status
from ..domain.request import Request as RequestState
from ..handlers import Decision, erase_applicant, handle, publish_calendar, register_request
from ..importing import import_ledger
from ..ledger import MAX_BYTES as MAX_LEDGER_BYTES
from ..ledger import MAX_ROWS as MAX_LEDGER_ROWS
from ..ledger import LedgerRejected, RowError, template_csv, template_xlsx
from ..reactions.when_review_decided_record_draft_decision import (
    WhenReviewDecidedRecordDraftDecision,
)
from .clock import today_in_china

MIGRATIONS = FilePath(__file__).parent.parent / "migrations"
Id = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicantBody(Body):
    """Personal data: stored encrypted in this service only, never in an event."""

    name: str = Field(min_length=1, max_length=200)
    id_number: str | None = Field(None, max_length=40, description="身份证号 / 统一社会信用代码")
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=400)


class RegisterRequestBody(Body):
    """A request as the clerk registers it."""

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
    received_on: date = Field(
        description=(
            "收到申请之日 (条例 第三十一条): 当面 the day it was handed in; 信函 the day the "
            "bureau signed for it (ordinary mail: the day receipt was confirmed with the "
            "applicant); 网上申请/传真/电子邮件 the day both sides confirmed it"
        )
    )
    description: str = Field(min_length=1, max_length=4000)
    requested_form: str | None = Field(None, max_length=200)
    applicant: ApplicantBody | None = None


class Registered(BaseModel):
    request_id: str
    event_id: str
    stream_version: int


class CorrectionRequestBody(Body):
    notified_on: date
    correct_by: date = Field(description="the reasonable period given to the applicant")
    items_to_correct: str = Field(min_length=1, max_length=2000)


class OnDay(Body):
    on: date


class ConsultationBody(Body):
    started_on: date
    party: str = Field(min_length=1, max_length=200)
    third_party: bool = Field(description="true: a third party (第三十二条); false: an agency")


class ExtensionBody(Body):
    """The bureau head approves the extension by posting it: the approver recorded
    (`DeadlineExtended.approved_by`) is the signature on the head's token."""

    working_days: int = Field(ge=1, le=20)
    notified_on: date


class FeeNoticeBody(Body):
    scheme: FeeScheme
    units: int = Field(ge=1, le=100_000, description="items (件) or pages (页)")
    noticed_on: date


class DraftBody(Body):
    draft_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    outcome: ReplyOutcome
    legal_basis: str = Field(min_length=1, max_length=1000)
    summary: str = Field("", max_length=4000)


class CaseBody(Body):
    case_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: CaseKind
    filed_on: date
    request_id: str | None = Field(None, max_length=64)


class CaseDecisionBody(Body):
    decided_on: date
    decision: str = Field(
        min_length=1,
        max_length=20,
        description=(
            "驳回/维持 → 结果维持; 撤销/变更/确认违法/责令履行 → 结果纠正; "
            "终止/撤回/调解 → 其他结果"
        ),
    )


class CalendarBody(Body):
    year: int = Field(ge=2000, le=2100)
    holidays: list[date]
    make_up_workdays: list[date] = Field(default_factory=list, description="调休上班日")


async def repo_of(request: Request) -> RequestRepository:
    return request.app.state.repo  # type: ignore[no-any-return]


async def vault_of(request: Request) -> ApplicantVault:
    return request.app.state.vault  # type: ignore[no-any-return]


Repo = Annotated[RequestRepository, Depends(repo_of)]
Vault = Annotated[ApplicantVault, Depends(vault_of)]


def lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        await migrate(settings.database_url, MIGRATIONS)
        pool = await create_pool(settings.database_url, max_size=10)
        repo = RequestRepository(pool)
        app.state.repo = repo
        app.state.vault = ApplicantVault(pool, settings.pii_index_key.get_secret_value().encode())
        add_scrape_source(app, OpenRequestsMetrics(pool, today_in_china))
        runner = ConsumerRunner(
            pool,
            WhenReviewDecidedRecordDraftDecision(repo),
            [events_topic("review")],
            settings.kafka_bootstrap_servers,
            verify_chain=True,  # a forged approval written to the topic is refused
        )
        try:
            async with running([runner]):
                yield
        finally:
            await close_pool(pool)

    return run


def view(state: RequestState, calendar_note: str | None = None) -> dict[str, Any]:
    return {
        "request_id": state.request_id,
        "status": state.status.value,
        "received_on": state.received_on,
        "due_on": state.due_on,
        "due_provisional": state.due_provisional,
        "extension_days": state.extension_days,
        "outcome": state.outcome.value if state.outcome else None,
        "outcome_label": REPLY_OUTCOME_LABELS[state.outcome] if state.outcome else None,
        "closed_on": state.closed_on,
        "fee_yuan": state.fee_yuan,
        "drafts": [
            {"draft_id": d.draft_id, "outcome": d.outcome.value, "state": d.state}
            for d in state.drafts
        ],
    }


def create_app(settings: Settings) -> FastAPI:
    setup_telemetry("requests", settings.otlp_endpoint, log_level=settings.log_level)
    app = FastAPI(title="Gongkai requests (依申请公开)", lifespan=lifespan(settings))
    install_common(app, "requests")
    base = "/bureaus/{bureau_id}/requests"

    async def command(
        repo: RequestRepository,
        bureau_id: str,
        request_id: str,
        actor: Actor,
        on: date,
        decide: Decision,
    ) -> dict[str, Any]:
        outcome = await handle(repo, bureau_id, request_id, actor, on, decide)
        return {
            **view(outcome.state),
            "events": [e.event_type for e in outcome.envelopes],
        }

    @app.post(
        base,
        status_code=201,
        response_model=Registered,
        responses={200: {"model": Registered, "description": "Already registered (a retry)"}},
    )
    async def post_request(
        response: Response,
        bureau_id: Id,
        body: RegisterRequestBody,
        who: Clerk,
        repo: Repo,
        vault: Vault,
    ) -> Registered:
        command_ = RegisterRequest(
            bureau_id=bureau_id,
            request_id=body.request_id or uuid4().hex,
            channel=body.channel,
            applicant_category=body.applicant_category,
            applicant_ref="",  # given by the applicant register
            received_on=body.received_on,
            description=body.description,
            requested_form=body.requested_form,
        )
        applicant = ApplicantDetails(**body.applicant.model_dump()) if body.applicant else None
        envelope, created = await register_request(
            repo, vault, command_, applicant, who.actor, today_in_china()
        )
        if not created:
            response.status_code = 200
        return Registered(
            request_id=envelope.data["request_id"],
            event_id=str(envelope.event_id),
            stream_version=envelope.stream_version,
        )

    @app.post(f"{base}/{{request_id}}/correction-request")
    async def request_correction(
        bureau_id: Id, request_id: Id, body: CorrectionRequestBody, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """补正告知 (条例 第三十条): once, within 7 working days; the clock stops."""
        return await command(
            repo,
            bureau_id,
            request_id,
            who.actor,
            body.notified_on,
            lambda s, c: s.request_correction(
                body.notified_on, body.correct_by, body.items_to_correct, c
            ),
        )

    @app.post(f"{base}/{{request_id}}/correction")
    async def receive_correction(
        bureau_id: Id, request_id: Id, body: OnDay, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """The corrected request arrived: the reply period restarts from this day."""
        return await command(
            repo,
            bureau_id,
            request_id,
            who.actor,
            body.on,
            lambda s, c: s.receive_correction(body.on, c),
        )

    @app.post(f"{base}/{{request_id}}/correction-lapse")
    async def lapse_correction(
        bureau_id: Id, request_id: Id, body: OnDay, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """No correction by the stated date: 视为放弃申请 (其他处理 1)."""
        history = await repo.history(bureau_id, request_id)
        correct_by = next(
            (e.data["correct_by"] for e in history if e.event_type.endswith("CorrectionRequested")),
            None,
        )
        by = date.fromisoformat(correct_by) if correct_by else None
        return await command(
            repo,
            bureau_id,
            request_id,
            who.actor,
            body.on,
            lambda s, c: s.lapse_correction(body.on, by),
        )

    @app.post(f"{base}/{{request_id}}/consultation")
    async def start_consultation(
        bureau_id: Id, request_id: Id, body: ConsultationBody, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """征求意见: the clock pauses (条例 第三十三条 第三款)."""
        return await command(
            repo,
            bureau_id,
            request_id,
            who.actor,
            body.started_on,
            lambda s, c: s.start_consultation(body.started_on, body.party, body.third_party, c),
        )

    @app.post(f"{base}/{{request_id}}/consultation-end")
    async def end_consultation(
        bureau_id: Id, request_id: Id, body: OnDay, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        return await command(
            repo,
            bureau_id,
            request_id,
            who.actor,
            body.on,
            lambda s, c: s.end_consultation(body.on, c),
        )

    @app.post(f"{base}/{{request_id}}/extension")
    async def extend(
        bureau_id: Id, request_id: Id, body: ExtensionBody, head: BureauHead, repo: Repo
    ) -> dict[str, Any]:
        """延长答复期限: once, approved by the head (经工作机构负责人同意, 条例 第三十三条),
        who posts it; the approver recorded is the head's signature."""
        return await command(
            repo,
            bureau_id,
            request_id,
            head.actor,
            body.notified_on,
            lambda s, c: s.extend(body.working_days, head.signature, body.notified_on, c),
        )

    @app.post(f"{base}/{{request_id}}/fee-notice")
    async def notice_fee(
        bureau_id: Id, request_id: Id, body: FeeNoticeBody, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """收费通知 under 国办函〔2020〕109号 (按件 counts the applicant's month)."""
        history = await repo.existing_history(bureau_id, request_id)
        first = history[0].data
        before = await repo.items_before_in_month(
            first["applicant_ref"],
            date.fromisoformat(first["received_on"]),
            bureau_id,
            request_id,
        )
        return await command(
            repo,
            bureau_id,
            request_id,
            who.actor,
            body.noticed_on,
            lambda s, c: s.notice_fee(body.scheme, body.units, before, body.noticed_on, c),
        )

    @app.post(f"{base}/{{request_id}}/fee-payment")
    async def pay_fee(
        bureau_id: Id, request_id: Id, body: OnDay, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        return await command(
            repo, bureau_id, request_id, who.actor, body.on, lambda s, c: s.pay_fee(body.on, c)
        )

    @app.post(f"{base}/{{request_id}}/fee-lapse")
    async def lapse_fee(
        bureau_id: Id, request_id: Id, body: OnDay, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """Not paid in time: 不再处理 (其他处理 2)."""
        return await command(
            repo, bureau_id, request_id, who.actor, body.on, lambda s, c: s.lapse_fee(body.on)
        )

    @app.post(f"{base}/{{request_id}}/reply-drafts", status_code=201)
    async def draft_reply(
        bureau_id: Id, request_id: Id, body: DraftBody, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """A reply draft goes to confidentiality review; the request waits in awaiting_review."""
        draft_id = body.draft_id or uuid4().hex
        result = await command(
            repo,
            bureau_id,
            request_id,
            who.actor,
            today_in_china(),
            lambda s, c: s.draft_reply(draft_id, body.outcome, body.legal_basis, body.summary),
        )
        return {**result, "draft_id": draft_id}

    @app.post(f"{base}/{{request_id}}/reply")
    async def send_reply(
        bureau_id: Id, request_id: Id, body: OnDay, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """Send the approved draft; 409 before review approval."""
        return await command(
            repo, bureau_id, request_id, who.actor, body.on, lambda s, c: s.send_reply(body.on)
        )

    @app.post(f"{base}/{{request_id}}/withdrawal")
    async def withdraw(
        bureau_id: Id, request_id: Id, body: OnDay, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        return await command(
            repo, bureau_id, request_id, who.actor, body.on, lambda s, c: s.withdraw(body.on)
        )

    @app.get(f"{base}/{{request_id}}")
    async def one_request(
        bureau_id: Id, request_id: Id, _: Reader, repo: Repo, vault: Vault
    ) -> dict[str, Any]:
        """One request with its full history and, unless erased, its applicant."""
        history = await repo.existing_history(bureau_id, request_id)
        state = RequestState.fold([e.payload() for e in history])
        assert state is not None
        applicant = await vault.read(state.applicant_ref)
        return {
            **view(state),
            "applicant_ref": state.applicant_ref,
            "applicant_category": state.applicant_category.value,
            "applicant_category_label": APPLICANT_CATEGORY_LABELS[state.applicant_category],
            "applicant": applicant.__dict__ if applicant else {"erased_or_not_given": True},
            "history": envelopes_json(history),
        }

    @app.get(f"{base}/{{request_id}}/events")
    async def request_events(
        bureau_id: Id, request_id: Id, _: Reader, repo: Repo
    ) -> list[dict[str, Any]]:
        history = await repo.existing_history(bureau_id, request_id)
        return envelopes_json(history)

    @app.get(f"{base}/{{request_id}}/deadline")
    async def deadline(bureau_id: Id, request_id: Id, _: Reader, repo: Repo) -> dict[str, Any]:
        """The deadline with its day-by-day derivation (counted, holiday, 调休, paused…)."""
        history = await repo.existing_history(bureau_id, request_id)
        state = RequestState.fold([e.payload() for e in history])
        assert state is not None
        result = state.deadline(await repo.calendar())
        return {
            "request_id": request_id,
            "regime": result.regime.name,
            "base_working_days": result.regime.base_days,
            "start": result.start,
            "base_due_on": result.base_due_on,
            "due_on": result.due_on,
            "extension_days": result.extension_days,
            "provisional": result.provisional,
            "paused": result.paused,
            "derivation": [
                {"day": line.day, "kind": line.kind.value, "count": line.count, "note": line.note}
                for line in result.lines
            ],
        }

    @app.get(base)
    async def list_requests(
        bureau_id: Id,
        _: Reader,
        repo: Repo,
        status: Status | None = None,
        open_only: bool = Query(False, alias="open"),
        due_within_days: int | None = Query(None, ge=0, le=366, description="due soon"),
        overdue: bool = False,
        outcome: ReplyOutcome | None = None,
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=1_000_000_000),
    ) -> list[dict[str, Any]]:
        """Requests by due date: open ones, due soon, overdue, or by outcome."""
        today = today_in_china()
        due_before = (
            date.fromordinal(today.toordinal() + due_within_days)
            if due_within_days is not None
            else None
        )
        return await repo.summaries(
            bureau_id,
            status=status.value if status else None,
            open_only=open_only or due_before is not None,
            due_before=due_before,
            overdue_on=today if overdue else None,
            outcome=outcome.value if outcome else None,
            limit=limit,
            offset=offset,
        )

    @app.post("/calendars", status_code=201)
    async def post_calendar(body: CalendarBody, who: CentralOffice, repo: Repo) -> dict[str, Any]:
        """The central office publishes a year's working-day calendar; open deadlines move."""
        try:
            year_calendar = YearCalendar(
                body.year, frozenset(body.holidays), frozenset(body.make_up_workdays)
            )
        except ValueError as exc:
            from gongkai_platform.errors import DomainError

            raise DomainError("holidays", str(exc)) from exc
        envelope, changes = await publish_calendar(repo, year_calendar, who.actor, today_in_china())
        return {
            "event_id": str(envelope.event_id),
            "recomputed": [
                {
                    "stream_id": e.stream_id,
                    "previous_due_on": e.data["previous_due_on"],
                    "due_on": e.data["due_on"],
                    "provisional": e.data["due_provisional"],
                }
                for e in changes
            ],
        }

    @app.post("/bureaus/{bureau_id}/cases", status_code=201)
    async def post_case(bureau_id: Id, body: CaseBody, who: Clerk, repo: Repo) -> dict[str, Any]:
        """行政复议 or 行政诉讼 (directly, or after reconsideration) about disclosure work."""
        envelope = await cases.file(
            repo,
            bureau_id,
            body.case_id,
            body.kind,
            body.filed_on,
            body.request_id,
            who.actor,
            today_in_china(),
        )
        return {"case_id": body.case_id, "event_id": str(envelope.event_id)}

    @app.post("/bureaus/{bureau_id}/cases/{case_id}/decision")
    async def decide_case(
        bureau_id: Id, case_id: Id, body: CaseDecisionBody, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """The decision as written (驳回, 撤销, 终止…) and its table 四 result column."""
        case = await cases.decide(
            repo, bureau_id, case_id, body.decided_on, body.decision, who.actor
        )
        return {"case_id": case_id, "result": case.result, "decision": case.decision}

    @app.get("/bureaus/{bureau_id}/cases")
    async def get_cases(
        bureau_id: Id, _: Reader, repo: Repo, pending_on: date | None = None
    ) -> list[dict[str, Any]]:
        """All cases, or those pending (尚未审结) on a day such as 12-31."""
        return await cases.list_cases(repo, bureau_id, pending_on)

    @app.post("/bureaus/{bureau_id}/applicants/{applicant_ref}/erasure")
    async def erase(
        bureau_id: Id, applicant_ref: Id, head: BureauHead, repo: Repo, vault: Vault
    ) -> dict[str, Any]:
        """Destroy the applicant's key: their data can no longer be read; events stay. The head
        of a bureau the applicant applied to decides it (403 for anyone else's applicant)."""
        envelope = await erase_applicant(
            repo, vault, bureau_id, applicant_ref, head.actor, today_in_china()
        )
        return {"applicant_ref": applicant_ref, "event_id": str(envelope.event_id)}

    # ------------------------------------------------------------ ledger import (台账导入)

    @app.exception_handler(LedgerRejected)
    async def ledger_rejected(_: Request, exc: LedgerRejected) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": [e.detail() for e in exc.errors]})

    @app.post(
        "/bureaus/{bureau_id}/ledger-imports",
        status_code=201,
        openapi_extra=LEDGER_UPLOAD,
        responses={200: {"description": "This file was imported before: nothing added"}},
    )
    async def import_ledger_file(
        bureau_id: Id, request: Request, response: Response, who: Clerk, repo: Repo, vault: Vault
    ) -> dict[str, Any]:
        """台账导入: a CSV or XLSX ledger of historical requests (see GET /ledger-template.xlsx),
        all rows or none; 422 lists every bad row. The same file again adds nothing (200)."""
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_LEDGER_BYTES + 65_536:
            raise LedgerRejected(
                [
                    RowError(
                        0,
                        None,
                        f"the file is larger than 10 MB: split the ledger into files of at most "
                        f"{MAX_LEDGER_ROWS:,} rows",
                    )
                ]
            )
        form = await request.form(max_files=1, max_fields=4)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise LedgerRejected([RowError(0, None, "send the ledger as the form field 'file'")])
        content = await upload.read(MAX_LEDGER_BYTES + 1)
        result = await import_ledger(
            repo, vault, bureau_id, content, upload.filename or "", who.actor, today_in_china()
        )
        if result.already_imported:
            response.status_code = 200
        return result.body()

    @app.get("/ledger-template.csv", response_class=Response)
    async def ledger_template_csv() -> Response:
        """The ledger's header and an example row, UTF-8 with a BOM."""
        return _download(template_csv(), "text/csv; charset=utf-8", "台账模板.csv")

    @app.get("/ledger-template.xlsx", response_class=Response)
    async def ledger_template_xlsx() -> Response:
        """The ledger sheet and a second sheet explaining each column and its values."""
        return _download(template_xlsx(), XLSX, "台账模板.xlsx")

    return app


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEDGER_UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": ".csv/.xlsx"}
                    },
                }
            }
        },
    }
}


def _download(content: bytes, media_type: str, filename: str) -> Response:
    ascii_name = "ledger-template" + filename[filename.rindex(".") :]
    return Response(
        content,
        media_type=media_type,
        headers={
            "content-disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(filename)}"
        },
    )

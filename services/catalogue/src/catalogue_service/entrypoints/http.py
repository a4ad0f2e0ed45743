"""HTTP API of the catalogue service: bureaus, catalogue items and their index numbers, the
public catalogue and guide; the consumer that records review decisions runs in the same process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from uuid import uuid4

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from gongkai_contracts import Actor
from gongkai_contracts.events import GuideUpdated, PublicationChannel
from gongkai_contracts.vocabulary import ITEM_CATEGORY_LABELS, DisclosureAttribute, ItemCategory
from gongkai_platform.auth import Caller, CentralOffice, Clerk, Reader
from gongkai_platform.calendar import WorkingCalendar
from gongkai_platform.consumer import ConsumerRunner, running
from gongkai_platform.db import close_pool, create_pool, migrate
from gongkai_platform.errors import NotFoundError
from gongkai_platform.http import install_common
from gongkai_platform.telemetry import setup_telemetry

from ..adapters.repository import CatalogueRepository, envelopes_json, item_stream
from ..config import Settings
from ..domain.bureau import Bureau, RegisterBureau, UpdateBureauProfile, hierarchy
from ..domain.index_number import format_index_number
from ..domain.item import (
    ATTRIBUTE_LABELS,
    CHANNEL_LABELS,
    STATE_LABELS,
    VALIDITY_LABELS,
    DraftItem,
    Entry,
    Item,
    ItemState,
)
from ..handlers import (
    ItemDecision,
    business_time,
    draft_item,
    handle_bureau,
    handle_item,
    load_bureau,
    publish_item,
    register_bureau,
)
from ..reactions.when_review_decided_record_item_decision import (
    WhenReviewDecidedRecordItemDecision,
)
from .catalogue_page import catalogue_html
from .clock import today_in_china

MIGRATIONS = FilePath(__file__).parent.parent / "migrations"
ID_PATTERN = r"^[A-Za-z0-9_.-]+$"
Id = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterBureauBody(Body):
    """A bureau as the central office registers it."""

    bureau_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    organisation_code: str = Field(description="统一社会信用代码 or 组织机构代码")
    region: str = Field(min_length=1, max_length=100)
    parent_id: str | None = Field(None, max_length=64, description="a registered bureau")


class ProfileBody(Body):
    """The bureau's profile as it should now read (every field)."""

    name: str = Field(min_length=1, max_length=200)
    organisation_code: str = Field(description="统一社会信用代码 or 组织机构代码")
    region: str = Field(min_length=1, max_length=100)
    parent_id: str | None = Field(None, max_length=64, description="a registered bureau")


class IndexPatternBody(Body):
    """How index numbers (索引号) are written from now on."""

    pattern: str = Field(
        min_length=1,
        max_length=100,
        description="{org_code}, {year}, {seq} (zero padding only): {org_code}/{year}-{seq:05d}",
    )


class GuideBody(Body):
    """政府信息公开指南 (条例 第十二条)."""

    categories: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50, description="政府信息的分类"
    )
    arrangement: str = Field("", max_length=2000, description="编排体系")
    how_to_apply: str = Field(
        "", max_length=4000, description="获取方式: where it is published, how to apply"
    )
    office_name: str = Field(min_length=1, max_length=200, description="工作机构名称")
    address: str = Field(min_length=1, max_length=400, description="办公地址")
    hours: str = Field(min_length=1, max_length=200, description="办公时间")
    phone: str = Field(min_length=1, max_length=100, description="联系电话")
    fax: str | None = Field(None, max_length=100, description="传真号码")
    email: str | None = Field(None, max_length=200, description="电子邮箱")
    website: str | None = Field(None, max_length=400, description="互联网联系方式")


class EntryBody(Body):
    """The fields of a catalogue entry (公开目录)."""

    title: str = Field(min_length=1, max_length=500, description="名称")
    summary: str = Field("", max_length=4000, description="内容概述")
    formed_on: date = Field(description="生成日期 (成文日期)")
    document_number: str | None = Field(None, max_length=100, description="文号")
    issuing_body: str = Field(min_length=1, max_length=200, description="发布机构")
    topic: str | None = Field(None, max_length=100, description="主题分类")
    form_category: str | None = Field(None, max_length=100, description="组配分类")
    attribute: DisclosureAttribute = Field(DisclosureAttribute.PROACTIVE, description="公开属性")
    scope: str | None = Field(None, max_length=100, description="公开范围, e.g. 面向社会")
    validity: Literal["valid", "expired"] = Field(
        "valid", description="有效性: 有效 or 失效; 废止 is the repeal command"
    )
    category: ItemCategory
    fee_amount_yuan: Decimal | None = Field(
        None,
        ge=0,
        max_digits=14,
        decimal_places=2,
        description="行政事业性收费 only, required there: the amount in 元",
    )

    def entry(self) -> Entry:
        return Entry(
            title=self.title,
            summary=self.summary,
            formed_on=self.formed_on,
            issuing_body=self.issuing_body,
            attribute=self.attribute,
            category=self.category,
            document_number=self.document_number,
            topic=self.topic,
            form_category=self.form_category,
            scope=self.scope,
            validity=self.validity,
            fee_amount_yuan=self.fee_amount_yuan,
        )


class DraftBody(EntryBody):
    item_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=ID_PATTERN,
        description="Optional; a retried POST with the same id and fields answers 200.",
    )


class RevisionBody(EntryBody):
    changed_on: date | None = Field(None, description="变更日期; today when not given")


def _website_only() -> list[PublicationChannel]:
    return ["government_website"]


class PublicationBody(Body):
    published_on: date | None = Field(None, description="发布日期; today when not given")
    channels: list[PublicationChannel] = Field(
        default_factory=_website_only,
        min_length=1,
        max_length=7,
        description="条例 第二十三条: 政府网站, 政府公报, 新闻发布会, 报刊, 广播, 电视 …",
    )


class RepealBody(Body):
    repealed_on: date = Field(description="废止日期")


class WithdrawalBody(Body):
    reason: str = Field(min_length=1, max_length=2000, description="why it was published in error")
    withdrawn_on: date | None = Field(None, description="today when not given")


async def repo_of(request: Request) -> CatalogueRepository:
    return request.app.state.repo  # type: ignore[no-any-return]


async def calendar_of(request: Request) -> WorkingCalendar:
    return request.app.state.calendar  # type: ignore[no-any-return]


Repo = Annotated[CatalogueRepository, Depends(repo_of)]
Calendar = Annotated[WorkingCalendar, Depends(calendar_of)]


def lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        await migrate(settings.database_url, MIGRATIONS)
        pool = await create_pool(settings.database_url, max_size=10)
        repo = CatalogueRepository(pool)
        app.state.repo = repo
        # The package's working days; the central office's published years live in the
        # requests service and are not read here yet.
        app.state.calendar = WorkingCalendar()
        runner = ConsumerRunner(
            pool,
            WhenReviewDecidedRecordItemDecision(repo),
            settings.review_topics,
            settings.kafka_bootstrap_servers,
            # The gate acts on review's decisions: refuse (to the DLQ) any event that does not
            # continue the review service's hash chain for its bureau.
            verify_chain=True,
        )
        app.state.consumer = runner
        try:
            async with running([runner]):
                yield
        finally:
            await close_pool(pool)

    return run


# ---------------------------------------------------------------- views


def bureau_view(bureau: Bureau) -> dict[str, Any]:
    return {
        "bureau_id": bureau.bureau_id,
        "name": bureau.name,
        "organisation_code": bureau.organisation_code,
        "region": bureau.region,
        "parent_id": bureau.parent_id,
        "index_pattern": bureau.index_pattern,
    }


def entry_view(entry: Entry) -> dict[str, Any]:
    return {
        "title": entry.title,
        "summary": entry.summary,
        "formed_on": entry.formed_on,
        "document_number": entry.document_number,
        "issuing_body": entry.issuing_body,
        "topic": entry.topic,
        "form_category": entry.form_category,
        "attribute": entry.attribute.value,
        "attribute_label": ATTRIBUTE_LABELS[entry.attribute],
        "scope": entry.scope,
        "validity": entry.validity,
        "validity_label": VALIDITY_LABELS[entry.validity],
        "category": entry.category.value,
        "category_label": ITEM_CATEGORY_LABELS[entry.category],
        "fee_amount_yuan": str(entry.fee_amount_yuan)
        if entry.fee_amount_yuan is not None
        else None,
    }


def item_view(bureau_id: str, item: Item) -> dict[str, Any]:
    published = item.published
    publication = None
    if published is not None:
        publication = {
            "version": published.version,
            "index_number": published.index_number,
            "published_on": published.published_on,
            "first_published_on": published.first_published_on,
            "channels": list(published.channels),
            "channel_labels": [CHANNEL_LABELS[c] for c in published.channels],
            "due_on": published.due_on,
            "late": published.late,
        }
    return {
        "bureau_id": bureau_id,
        "item_id": item.item_id,
        "state": item.state.value,
        "state_label": STATE_LABELS[item.state],
        "version": item.version,
        **entry_view(item.entry),
        "changed_on": item.changed_on,
        "submitted_version": item.submitted_version,
        "approved_version": item.approved_version,
        "review_case_id": item.review_case_id,
        "rejection_reasons": item.rejection_reasons,
        "public": item.public,
        "index_number": published.index_number if published else None,
        "publication": publication,
        "repealed_on": item.repealed_on,
        "withdrawn_on": item.withdrawn_on,
        "withdrawal_reason": item.withdrawal_reason,
    }


def public_entry_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "category_label": ITEM_CATEGORY_LABELS[ItemCategory(row["category"])],
        "validity_label": VALIDITY_LABELS.get(row["validity"], row["validity"]),
        "attribute_label": ATTRIBUTE_LABELS[DisclosureAttribute(row["attribute"])],
        "channel_labels": [CHANNEL_LABELS.get(c, c) for c in row["channels"]],
    }


# ---------------------------------------------------------------- the app


def create_app(settings: Settings) -> FastAPI:
    setup_telemetry("catalogue", settings.otlp_endpoint, log_level=settings.log_level)
    app = FastAPI(title="Gongkai catalogue (公开目录)", lifespan=lifespan(settings))
    install_common(app, "catalogue")
    items = "/bureaus/{bureau_id}/items"

    # ------------------------------------------------------------ bureaus

    @app.post("/bureaus", status_code=201, tags=["bureaus"])
    async def post_bureau(
        body: RegisterBureauBody, who: CentralOffice, repo: Repo
    ) -> dict[str, str]:
        """Register a bureau (catalogue.BureauRegistered); its parent must be registered.
        The central office only."""
        envelope = await register_bureau(repo, RegisterBureau(**body.model_dump()), who.actor)
        return {"bureau_id": body.bureau_id, "event_id": str(envelope.event_id)}

    @app.get("/bureaus", tags=["bureaus"])
    async def get_bureaus(_: Caller, repo: Repo) -> list[dict[str, Any]]:
        """Every bureau as a tree: each with its `children`. The register is open to any
        signed-in user."""
        return hierarchy(await repo.bureaus())

    @app.get("/bureaus/{bureau_id}", tags=["bureaus"])
    async def get_bureau(bureau_id: Id, _: Caller, repo: Repo) -> dict[str, Any]:
        """The bureau as it stands, with its children's ids (any signed-in user)."""
        bureau = await load_bureau(repo, bureau_id)
        children = await repo.children(bureau_id)
        return {**bureau_view(bureau), "children": children, "guide": bureau.guide is not None}

    @app.put("/bureaus/{bureau_id}/profile", tags=["bureaus"])
    async def put_profile(
        bureau_id: Id, body: ProfileBody, who: CentralOffice, repo: Repo
    ) -> dict[str, Any]:
        """catalogue.BureauProfileUpdated (nothing when unchanged); the parent must be
        registered and not below this bureau. The central office only."""
        command = UpdateBureauProfile(**body.model_dump())
        outcome = await handle_bureau(
            repo, bureau_id, who.actor, lambda b, parents: b.update_profile(command, parents)
        )
        return {**bureau_view(outcome.state), "events": [e.event_type for e in outcome.envelopes]}

    @app.put("/bureaus/{bureau_id}/index-pattern", tags=["bureaus"])
    async def put_index_pattern(
        bureau_id: Id, body: IndexPatternBody, who: CentralOffice, repo: Repo
    ) -> dict[str, Any]:
        """catalogue.IndexPatternSet: numbers given from now on use it; the sequence of the
        year goes on. Must contain {year} and {seq} (e.g. {seq:05d}). The central office only."""
        outcome = await handle_bureau(
            repo, bureau_id, who.actor, lambda b, _: b.set_index_pattern(body.pattern)
        )
        state = outcome.state
        example = format_index_number(
            state.index_pattern,
            org_code=state.organisation_code,
            year=today_in_china().year,
            seq=1,
        )
        return {
            "bureau_id": bureau_id,
            "index_pattern": state.index_pattern,
            "example": example,
            "events": [e.event_type for e in outcome.envelopes],
        }

    @app.put("/bureaus/{bureau_id}/guide", tags=["bureaus"])
    async def put_guide(bureau_id: Id, body: GuideBody, who: Clerk, repo: Repo) -> dict[str, Any]:
        """catalogue.GuideUpdated: the disclosure guide (公开指南) as it now reads."""
        guide = GuideUpdated(**{**body.model_dump(), "categories": tuple(body.categories)})
        outcome = await handle_bureau(
            repo, bureau_id, who.actor, lambda b, _: b.update_guide(guide)
        )
        return {
            "bureau_id": bureau_id,
            **guide.model_dump(mode="json"),
            "events": [e.event_type for e in outcome.envelopes],
        }

    # ------------------------------------------------------------ items

    async def command(
        repo: CatalogueRepository,
        bureau_id: str,
        item_id: str,
        actor: Actor,
        on: date,
        decide: ItemDecision,
    ) -> dict[str, Any]:
        outcome = await handle_item(repo, bureau_id, item_id, actor, business_time(on), decide)
        return {
            **item_view(bureau_id, outcome.state),
            "events": [e.event_type for e in outcome.envelopes],
        }

    @app.post(
        items,
        status_code=201,
        tags=["items"],
        responses={200: {"description": "Drafted already with the same fields (a retry)"}},
    )
    async def post_item(
        response: Response, bureau_id: Id, body: DraftBody, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """catalogue.ItemDrafted: a new catalogue item, version 1."""
        command_ = DraftItem(bureau_id, body.item_id or uuid4().hex, body.entry())
        outcome, created = await draft_item(repo, command_, who.actor, today_in_china())
        if not created:
            response.status_code = 200
        return {
            **item_view(bureau_id, outcome.state),
            "events": [e.event_type for e in outcome.envelopes],
        }

    @app.post(f"{items}/{{item_id}}/submission", tags=["items"])
    async def submit(bureau_id: Id, item_id: Id, who: Clerk, repo: Repo) -> dict[str, Any]:
        """catalogue.ItemSubmittedForReview: the review service opens a case for this version."""
        return await command(
            repo, bureau_id, item_id, who.actor, today_in_china(), lambda item: item.submit()
        )

    @app.post(f"{items}/{{item_id}}/revision", tags=["items"])
    async def revise(
        bureau_id: Id, item_id: Id, body: RevisionBody, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """catalogue.ItemRevised: a new version (the whole entry); it goes through review again.
        A published item stays public as it was until the new version is published."""
        today = today_in_china()
        changed_on = body.changed_on or today
        return await command(
            repo,
            bureau_id,
            item_id,
            who.actor,
            today,
            lambda item: item.revise(body.entry(), changed_on, today),
        )

    @app.post(f"{items}/{{item_id}}/publication", tags=["items"])
    async def publish(
        bureau_id: Id,
        item_id: Id,
        body: PublicationBody,
        who: Clerk,
        repo: Repo,
        calendar: Calendar,
    ) -> dict[str, Any]:
        """catalogue.ItemPublished; 409 unless review approved the current version. A first
        publication takes the bureau's next index number of the year of publication; `late`
        when published after the 20th working day from forming (条例 第二十六条)."""
        today = today_in_china()
        outcome = await publish_item(
            repo,
            bureau_id,
            item_id,
            who.actor,
            body.published_on or today,
            body.channels,
            today,
            calendar,
        )
        return {
            **item_view(bureau_id, outcome.state),
            "events": [e.event_type for e in outcome.envelopes],
        }

    @app.post(f"{items}/{{item_id}}/repeal", tags=["items"])
    async def repeal(
        bureau_id: Id, item_id: Id, body: RepealBody, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """catalogue.ItemRepealed (废止): listed as 废止, no longer 现行有效."""
        today = today_in_china()
        return await command(
            repo,
            bureau_id,
            item_id,
            who.actor,
            body.repealed_on,
            lambda item: item.repeal(body.repealed_on, today),
        )

    @app.post(f"{items}/{{item_id}}/withdrawal", tags=["items"])
    async def withdraw(
        bureau_id: Id, item_id: Id, body: WithdrawalBody, who: Clerk, repo: Repo
    ) -> dict[str, Any]:
        """catalogue.ItemWithdrawn: published in error, out of the public catalogue; its index
        number is not given again."""
        today = today_in_china()
        on = body.withdrawn_on or today
        return await command(
            repo,
            bureau_id,
            item_id,
            who.actor,
            on,
            lambda item: item.withdraw(body.reason, on, today),
        )

    @app.get(items, tags=["items"])
    async def list_items(
        bureau_id: Id,
        _: Reader,
        repo: Repo,
        state: ItemState | None = None,
        category: ItemCategory | None = None,
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=1_000_000_000),
    ) -> list[dict[str, Any]]:
        """The bureau's items in the order they were drafted, by state and category."""
        return await repo.items(
            bureau_id,
            state=state.value if state else None,
            category=category.value if category else None,
            limit=limit,
            offset=offset,
        )

    @app.get(f"{items}/{{item_id}}", tags=["items"])
    async def one_item(bureau_id: Id, item_id: Id, _: Reader, repo: Repo) -> dict[str, Any]:
        """The item as it stands, with its history: every event as stored."""
        history = await repo.history(item_stream(bureau_id, item_id))
        item = Item.fold(e.payload() for e in history)
        if item is None:
            raise NotFoundError(f"bureau {bureau_id} has no item {item_id}")
        return {**item_view(bureau_id, item), "history": envelopes_json(history)}

    # ------------------------------------------------------------ public, no login

    @app.get("/public/bureaus/{bureau_id}/catalogue", tags=["public"], response_model=None)
    async def public_catalogue(
        bureau_id: Id,
        repo: Repo,
        q: str | None = Query(None, max_length=200, description="in 名称, 内容概述 and 文号"),
        category: ItemCategory | None = None,
        published_from: date | None = None,
        published_to: date | None = None,
        validity: Literal["valid", "expired", "repealed"] | None = None,
        limit: int = Query(50, ge=1, le=500),
        offset: int = Query(0, ge=0, le=1_000_000_000),
        output: Literal["json", "html"] = Query("json", alias="format"),
    ) -> dict[str, Any] | HTMLResponse:
        """政府信息公开目录: the published items, newest first (withdrawn ones never; repealed
        ones as 废止). `?format=html` gives the page."""
        bureau = await repo.bureau(bureau_id)
        if bureau is None:
            raise NotFoundError(f"bureau {bureau_id} is not registered")
        text = q.strip() if q else None
        total, rows = await repo.catalogue(
            bureau_id,
            text=text or None,
            category=category.value if category else None,
            published_from=published_from,
            published_to=published_to,
            validity=validity,
            limit=limit,
            offset=offset,
        )
        if output == "html":
            query = {
                "q": text,
                "category": category.value if category else None,
                "validity": validity,
                "published_from": published_from,
                "published_to": published_to,
            }
            return HTMLResponse(catalogue_html(bureau, total, rows, query, limit, offset))
        return {
            "bureau_id": bureau_id,
            "bureau_name": bureau["name"],
            "total": total,
            "limit": limit,
            "offset": offset,
            "items": [public_entry_view(r) for r in rows],
        }

    @app.get("/public/bureaus/{bureau_id}/guide", tags=["public"])
    async def public_guide(bureau_id: Id, repo: Repo) -> dict[str, Any]:
        """政府信息公开指南 as the bureau last set it; 404 until it has one."""
        bureau = await repo.bureau(bureau_id)
        if bureau is None:
            raise NotFoundError(f"bureau {bureau_id} is not registered")
        if bureau["guide"] is None:
            raise NotFoundError(f"bureau {bureau_id} has not published its disclosure guide")
        guide = GuideUpdated.model_validate(bureau["guide"])
        return {
            "bureau_id": bureau_id,
            "bureau_name": bureau["name"],
            **guide.model_dump(mode="json"),
            "catalogue": f"/public/bureaus/{bureau_id}/catalogue",
        }

    return app

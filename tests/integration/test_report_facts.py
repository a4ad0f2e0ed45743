"""The report fact projections on a real PostgreSQL: every event a report needs becomes one row,
a batch applied twice stores nothing new, and the stored facts build the report (table 二 from
catalogue events with fee amounts, 三 and 四 from request events) as of any instant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from gongkai_contracts import SYSTEM_ACTOR, Envelope, Event, new_event_id
from gongkai_contracts.events import (
    BureauRegistered,
    CorrectionLapsed,
    FeeNoticed,
    FeePaid,
    ItemPublished,
    ItemRepealed,
    LitigationFiled,
    ReconsiderationDecided,
    ReconsiderationFiled,
    ReplySent,
    RequestReceived,
    RequestWithdrawn,
)
from gongkai_contracts.vocabulary import (
    ApplicantCategory,
    CaseResult,
    Channel,
    ItemCategory,
    ReplyOutcome,
)
from gongkai_platform.consumer import Delivered
from gongkai_platform.db import create_pool, migrate
from reporting_service.adapters.report_store import (
    bureau_known,
    load_facts,
    load_narrative,
    save_narrative,
)
from reporting_service.annual_report.builder import build_annual_report
from reporting_service.annual_report.facts import Narrative
from reporting_service.bootstrap import MIGRATIONS
from reporting_service.projections.report_facts import (
    CatalogueFactsProjection,
    RequestFactsProjection,
)
from tests.support import unique

pytestmark = pytest.mark.integration

BASE = datetime(2026, 11, 1, tzinfo=UTC)


def sealed(bureau: str, stream: str, events: Sequence[Event], start: datetime) -> list[Delivered]:
    """Envelopes of one stream recorded a minute apart from `start`."""
    out = []
    for i, event in enumerate(events):
        env = Envelope.seal(
            event,
            bureau_id=bureau,
            stream_id=stream,
            stream_version=i + 1,
            occurred_at=start,
            actor=SYSTEM_ACTOR,
            correlation_id=new_event_id(),
            causation_id=None,
            prev_hash="0" * 64,
            recorded_at=start + timedelta(minutes=i),
        )
        out.append(Delivered(env, "topic", 0, i, {}))
    return out


def received(rid: str, on: date, category: ApplicantCategory) -> RequestReceived:
    return RequestReceived(
        request_id=rid,
        channel=Channel.ONLINE,
        applicant_category=category,
        applicant_ref="ref",
        received_on=on,
        description="申请公开事项",
        regime="2019",
        due_on=on + timedelta(days=28),
    )


def reply(rid: str, on: date, outcome: ReplyOutcome) -> ReplySent:
    return ReplySent(
        request_id=rid,
        draft_id="d",
        outcome=outcome,
        legal_basis="条例",
        sent_on=on,
        due_on=on,
        on_time=True,
        applicant_category=ApplicantCategory.NATURAL_PERSON,
    )


def published(item_id: str, category: ItemCategory, on: date, fee: str | None) -> ItemPublished:
    return ItemPublished(
        item_id=item_id,
        item_version=1,
        index_number=f"idx-{item_id}",
        category=category,
        published_on=on,
        channels=("government_website",),
        due_on=on,
        fee_amount_yuan=Decimal(fee) if fee else None,
    )


async def test_facts_are_stored_once_and_build_the_report_as_of_any_instant(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    await migrate(dsn, MIGRATIONS)
    pool = await create_pool(dsn)
    bureau = unique("b")
    requests_batch = [
        *sealed(
            bureau,
            "request-1",
            [
                received("r1", date(2025, 12, 29), ApplicantCategory.NATURAL_PERSON),
                reply("r1", date(2026, 1, 15), ReplyOutcome.DISCLOSED),
            ],
            BASE,
        ),
        *sealed(
            bureau,
            "request-2",
            [
                received("r2", date(2026, 3, 3), ApplicantCategory.COMMERCIAL_ENTERPRISE),
                FeeNoticed(
                    request_id="r2",
                    scheme="per_page",
                    units=40,
                    amount_yuan=Decimal("100.00"),
                    noticed_on=date(2026, 3, 5),
                    pay_by=date(2026, 4, 2),
                ),
                FeePaid(
                    request_id="r2",
                    paid_on=date(2026, 3, 9),
                    amount_yuan=Decimal("100.00"),
                    due_on=date(2026, 4, 9),
                ),
                RequestWithdrawn(request_id="r2", withdrawn_on=date(2026, 3, 20)),
            ],
            BASE + timedelta(hours=1),
        ),
        *sealed(
            bureau,
            "request-3",
            [
                received("r3", date(2026, 5, 5), ApplicantCategory.NATURAL_PERSON),
                CorrectionLapsed(request_id="r3", lapsed_on=date(2026, 6, 1)),
            ],
            BASE + timedelta(hours=2),
        ),
        *sealed(
            bureau,
            "case-1",
            [
                ReconsiderationFiled(case_id="fy1", request_id="r1", filed_on=date(2026, 2, 1)),
                ReconsiderationDecided(
                    case_id="fy1",
                    decided_on=date(2026, 4, 1),
                    result=CaseResult.CORRECTED,
                    decision="撤销",
                ),
            ],
            BASE + timedelta(hours=3),
        ),
        *sealed(
            bureau,
            "case-2",
            [
                LitigationFiled(
                    case_id="ss1",
                    request_id="r1",
                    filed_on=date(2026, 5, 1),
                    after_reconsideration=True,
                )
            ],
            BASE + timedelta(hours=3),
        ),
    ]
    catalogue_batch = [
        *sealed(
            bureau,
            f"bureau-{bureau}",
            [BureauRegistered(name="某县人民政府办公室", organisation_code="X", region="某县")],
            BASE,
        ),
        *sealed(
            bureau,
            "item-1",
            [published("f1", ItemCategory.ADMINISTRATIVE_FEE, date(2026, 2, 1), "25000.50")],
            BASE,
        ),
        *sealed(
            bureau,
            "item-2",
            [
                published("n1", ItemCategory.NORMATIVE_DOCUMENT, date(2025, 2, 1), None),
                ItemRepealed(
                    item_id="n1",
                    repealed_on=date(2026, 6, 1),
                    category=ItemCategory.NORMATIVE_DOCUMENT,
                ),
            ],
            BASE,
        ),
    ]
    assert not await bureau_known(pool, bureau)
    for _ in range(2):  # a redelivered batch inserts nothing (ON CONFLICT on the event id)
        async with pool.acquire() as conn, conn.transaction():
            await RequestFactsProjection().apply(conn, requests_batch)
            await CatalogueFactsProjection().apply(conn, catalogue_batch)
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM report_request_facts WHERE bureau_id = $1", bureau
        )
        == 8
    )
    assert (
        await pool.fetchval("SELECT count(*) FROM report_case_facts WHERE bureau_id = $1", bureau)
        == 3
    )
    assert await bureau_known(pool, bureau)

    facts = await load_facts(pool, bureau, None)
    report = build_annual_report(bureau, 2026, facts)
    assert report.failures == ()
    assert report.bureau_name == "某县人民政府办公室"
    t3 = report.requests
    assert t3.count("carried_in", "natural_person") == 1
    assert t3.count("disclosed", "natural_person") == 1
    assert t3.count("other", "commercial_enterprise") == 1
    assert t3.count("other_correction_lapsed", "natural_person") == 1
    assert (t3.count("total", "total"), t3.count("carried_out", "total")) == (3, 0)
    assert report.cases.count("reconsideration", "corrected") == 1
    assert report.cases.count("litigation_after_reconsideration", "pending") == 1
    assert report.items.value("行政事业性收费", "本年收费金额（单位：万元）") == Decimal("2.50005")
    assert report.items.value("行政规范性文件", "本年废止件数") == 1
    assert report.sections[5].paragraphs == (
        "本年度发出信息处理费收费通知1件，实际收取信息处理费100.00元。",
    )

    # As of just before r1's reply was recorded, r1 is still open and nothing else exists.
    before = build_annual_report(
        bureau, 2026, await load_facts(pool, bureau, BASE + timedelta(seconds=30)), as_of=None
    )
    assert before.requests.count("carried_in", "total") == 1
    assert before.requests.count("carried_out", "total") == 1
    assert before.requests.count("new", "total") == 0

    first = await save_narrative(pool, bureau, 2026, Narrative("初稿"))
    await save_narrative(pool, bureau, 2026, Narrative("定稿", "问题", "其他"))
    assert first.recorded_at is not None
    latest = await load_narrative(pool, bureau, 2026, None)
    assert latest is not None and latest.overview == "定稿"
    then = await load_narrative(pool, bureau, 2026, first.recorded_at)
    assert then is not None and then.overview == "初稿"
    assert await load_narrative(pool, bureau, 2025, None) is None
    await pool.close()

"""The seed bureau's 2011 year entered over HTTP, as its self-assessment tells it
(/work/shared/domain/seed-2011-self-assessment.txt): 常州市人力资源和社会保障局 published 212 items
from January to November 2011, 4 of them normative documents, each through three review stages;
it received 6 requests and answered all on time; one applicant asked for reconsideration and
the 法制办 dismissed it (驳回, counted as 结果维持). The 2011 report (2007-era sections) shows
those numbers; a later year in the 2021 format passes every cross-check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest

from gongkai_platform.devstack.stack import LocalStack
from tests.e2e.test_annual_report import Bureau, table3
from tests.e2e.test_catalogue_lifecycle import Clerk

pytestmark = pytest.mark.e2e

NAME = "常州市人力资源和社会保障局"
ORGANISATION_CODE = "014416330"
ITEMS = 212
NORMATIVE = 4
CONCURRENCY = 16
# The six requests of 2011: five about policy (政策咨询), one about public recruitment to public
# institutions (事业单位公开招聘), which went on to reconsideration. Received, outcome, replied.
REQUESTS_2011 = [
    ("R2011-1", "2011-02-14", "disclosed", "2011-02-21"),
    ("R2011-2", "2011-03-22", "disclosed", "2011-03-30"),
    ("R2011-3", "2011-05-09", "unavailable_not_held", "2011-05-20"),
    ("R2011-4", "2011-06-13", "disclosed", "2011-06-17"),
    ("R2011-5", "2011-07-04", "disclosed", "2011-07-12"),
    ("R2011-6", "2011-08-01", "disclosed", "2011-08-10"),  # 事业单位公开招聘
]
BASIS = {"disclosed": "条例 第二十一条 第一项", "unavailable_not_held": "条例 第二十一条 第三项"}


@pytest.fixture
async def seed(stack: LocalStack) -> AsyncIterator[tuple[Bureau, Clerk]]:
    """The bureau as its clerk sees it: requests and reports (Bureau), the catalogue (Clerk)."""
    bureau = Bureau(stack)
    clerk = Clerk(stack, bureau=bureau.id)
    try:
        yield bureau, clerk
    finally:
        await bureau.aclose()
        await clerk.aclose()


def published_on(n: int) -> date:
    """The n-th item (0-based) of 2011: spread over working days from January to November."""
    day = date(2011, 1, 4) + timedelta(days=n * 320 // ITEMS)
    return day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)


async def in_batches(
    count: int, work: Callable[[int], Awaitable[Any]], concurrency: int = CONCURRENCY
) -> list[Any]:
    """Run work(0) … work(count - 1), at most `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Any:
        async with gate:
            return await work(i)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def test_the_seed_bureau_2011_year_and_a_later_year(
    seed: tuple[Bureau, Clerk], stack: LocalStack
) -> None:
    bureau, clerk = seed
    await clerk.register(ORGANISATION_CODE)

    # ------------------------------------------------ 212 items, three review stages each
    async def publish(n: int) -> dict[str, Any]:
        normative = n % (ITEMS // NORMATIVE) == 0  # items 0, 53, 106, 159
        on = published_on(n)
        formed = on - timedelta(days=3)
        item_id = await clerk.draft(
            f"2011年第{n + 1}号公开信息" + ("（规范性文件）" if normative else ""),
            formed_on=formed.isoformat(),
            category="normative_document" if normative else "other",
            document_number=f"常人社发〔2011〕{n + 1}号" if normative else None,
            topic="人力资源和社会保障",
        )
        await clerk.approve(item_id)
        return await clerk.do(item_id, "publication", {"published_on": on.isoformat()})

    started = time.monotonic()
    published = await in_batches(ITEMS, publish)
    took = time.monotonic() - started
    print(
        f"\n{ITEMS} items drafted, reviewed in three stages and published in {took:.1f}s "
        f"({ITEMS / took:.1f} items/s, {CONCURRENCY} at a time)"
    )
    numbers = sorted(p["index_number"] for p in published)
    assert numbers == [f"{ORGANISATION_CODE}/2011-{i:05d}" for i in range(1, ITEMS + 1)]
    assert all(p["events"] == ["catalogue.ItemPublished"] for p in published)
    catalogue = await clerk.public(published_to="2011-12-31", limit=1)
    assert catalogue["total"] == ITEMS
    normative = await clerk.public(category="normative_document")
    assert normative["total"] == NORMATIVE

    # ------------------------------------------------ 6 requests, all answered on time
    started = time.monotonic()
    for request_id, received_on, _, _ in REQUESTS_2011:
        await bureau.register(request_id, received_on, "natural_person")

    async def answer(i: int) -> None:
        request_id, _, outcome, on = REQUESTS_2011[i]
        await bureau.reply(request_id, outcome, BASIS[outcome], on)

    await in_batches(len(REQUESTS_2011), answer)
    for request_id, *_ in REQUESTS_2011:
        state = await bureau.call("GET", f"{bureau.requests}/{request_id}")
        assert state["status"] == "replied", state
    print(f"6 requests registered and answered through review in {time.monotonic() - started:.1f}s")

    # ------------------------------------------------ the reconsideration, dismissed (驳回)
    cases = f"{stack.url('requests')}/bureaus/{bureau.id}/cases"
    await bureau.call(
        "POST",
        cases,
        201,
        json={
            "case_id": "fy-2011-1",
            "kind": "reconsideration",
            "filed_on": "2011-08-29",
            "request_id": "R2011-6",
        },
    )
    decided = await bureau.call(
        "POST", f"{cases}/fy-2011-1/decision", json={"decided_on": "2011-10-24", "decision": "驳回"}
    )
    assert decided["result"] == "upheld"

    # ------------------------------------------------ the 2011 report, 2007-era sections
    def figures(report: dict[str, Any]) -> dict[str, Any]:
        return {k: v for s in report["sections"] for k, v in s.get("figures", {}).items()}

    started = time.monotonic()
    report = await bureau.wait_for_report(
        2011,
        lambda r: (
            figures(r).get("本年度主动公开政府信息") == ITEMS
            and figures(r).get("按期答复") == 6
            and figures(r).get("行政复议：结果维持") == 1
            and r["title"] == f"《{NAME}2011年政府信息公开工作年度报告》"
        ),
        timeout=120,
    )
    print(f"reporting showed the 2011 year {time.monotonic() - started:.1f}s later")
    assert report["format"]["code"] == "2007"
    assert report["tables"] == {}
    assert report["checks"] == {"passed": True, "failures": []}
    f = figures(report)
    assert f["本年度主动公开政府信息"] == 212
    assert f["行政规范性文件"] == 4
    assert f["其他"] == 208
    assert f["本年度废止"] == 0
    assert f["本年度收到政府信息公开申请"] == 6
    assert f["申请人：自然人"] == 6
    assert f["上年结转"] == 0
    assert f["本年度办结"] == 6
    assert (f["予以公开"], f["无法提供"], f["不予公开"]) == (5, 1, 0)
    assert f["按期答复"] == 6
    assert f["结转下年度继续办理"] == 0
    assert f["行政复议：本年新收"] == 1
    assert f["行政复议：本年审结"] == 1
    assert (f["行政复议：结果维持"], f["行政复议：结果纠正"], f["行政复议：尚未审结"]) == (1, 0, 0)
    assert f["行政诉讼：本年新收"] == 0
    text = {s["heading"]: "".join(s["paragraphs"]) for s in report["sections"]}
    assert text["二、主动公开政府信息情况"].startswith(
        "本年度主动公开政府信息212条，其中行政规范性文件4件、其他208件"
    )
    assert "本年度共收到政府信息公开申请6件" in text["三、依申请公开政府信息情况"]
    assert "按期答复6件" in text["三、依申请公开政府信息情况"]
    assert (
        "申请行政复议1件，审结1件（结果维持1件"
        in text["六、因政府信息公开申请行政复议、提起行政诉讼的情况"]
    )
    page = (await bureau.client.get(f"{bureau.reports}/2011", params={"format": "html"})).text
    assert "本年度主动公开政府信息212条" in page and "结果维持1件" in page

    # ------------------------------------------------ a later year: the 2021 format
    later = [
        ("R2026-1", "2026-03-02", "natural_person"),
        ("R2026-2", "2026-03-16", "commercial_enterprise"),
        ("R2026-3", "2026-04-07", "natural_person"),
        ("R2026-4", "2026-05-11", "legal_service_organisation"),
        ("R2026-5", "2026-11-23", "natural_person"),  # still open on 31 December
    ]
    for request_id, received_on, category in later:
        await bureau.register(request_id, received_on, category)
    await bureau.reply("R2026-1", "disclosed", "条例 第三十六条 第二项", "2026-03-20")
    await bureau.reply("R2026-2", "withheld_third_party", "条例 第十五条", "2026-04-03")
    await bureau.reply("R2026-3", "unavailable_not_held", "条例 第三十六条 第四项", "2026-04-28")
    await bureau.do("R2026-4", "withdrawal", {"on": "2026-05-15"})
    item = await clerk.draft(
        "关于调整2026年度社会保险缴费基数的通知", formed_on="2026-03-02", topic="社会保障"
    )
    await clerk.approve(item)
    first_2026 = await clerk.do(item, "publication", {"published_on": "2026-03-10"})
    assert first_2026["index_number"] == f"{ORGANISATION_CODE}/2026-00001"

    report = await bureau.wait_for_report(
        2026,
        lambda r: (
            (
                table3(r)["（七）总计"]["总计"] == 4
                and r["tables"]["二"]["第二十条第（一）项"]["行政规范性文件"]["本年制发件数"] == 1
            )
            if r["tables"]
            else False
        ),
    )
    assert report["format"]["code"] == "2021"
    assert report["checks"] == {"passed": True, "failures": []}
    t3 = table3(report)
    assert t3["一、本年新收政府信息公开申请数量"]["总计"] == 5
    assert t3["二、上年结转政府信息公开申请数量"]["总计"] == 0
    assert t3["（一）予以公开"]["自然人"] == 1
    assert t3["4.保护第三方合法权益"]["商业企业"] == 1
    assert t3["1.本机关不掌握相关政府信息"]["自然人"] == 1
    assert t3["3.其他"]["法律服务机构"] == 1
    assert t3["四、结转下年度继续办理"]["总计"] == 1
    assert report["tables"]["二"]["第二十条第（一）项"]["行政规范性文件"] == {
        "本年制发件数": 1,
        "本年废止件数": 0,
        "现行有效件数": NORMATIVE + 1,
    }
    # The 2011 report is unchanged by the later year.
    again = await bureau.report(2011)
    assert figures(again) == f

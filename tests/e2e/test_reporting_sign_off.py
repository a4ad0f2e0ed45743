"""Monthly statistics and sign-off end to end: requests registered over HTTP show up month by
month (adding up to the annual report's table 三 row 一); signing a month off lands a
MonthlyReportSubmitted with the frozen figures on gongkai.reporting.events through reporting's
relay, once; the annual report is published and later restated; the central office sees who
is late."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from gongkai_contracts import Envelope
from gongkai_contracts.events import AnnualReportPublished, MonthlyReportSubmitted
from gongkai_contracts.topics import events_topic
from gongkai_platform.devstack.stack import LocalStack
from reporting_service.sign_off import figures_digest

pytestmark = pytest.mark.e2e

NEW_TOTAL = "三||一、本年新收政府信息公开申请数量|总计"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as c:
        yield c


async def call(
    client: httpx.AsyncClient, method: str, url: str, expect: int = 200, **kw: Any
) -> Any:
    answer = await client.request(method, url, **kw)
    assert answer.status_code == expect, f"{method} {url}: {answer.status_code} {answer.text}"
    return answer.json() if "json" in answer.headers.get("content-type", "") else answer.text


async def register(
    client: httpx.AsyncClient, stack: LocalStack, bureau: str, rid: str, on: str, channel: str
) -> None:
    body = {
        "request_id": rid,
        "channel": channel,
        "applicant_category": "commercial_enterprise" if channel == "letter" else "natural_person",
        "received_on": on,
        "description": f"申请公开事项 {rid}",
    }
    await call(client, "POST", f"{stack.url('requests')}/bureaus/{bureau}/requests", 201, json=body)


async def wait_for(check: Any, what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {last}")


async def reporting_events(stack: LocalStack, bureau: str, count: int) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        events_topic("reporting"), bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[Envelope] = []
    try:
        deadline = time.monotonic() + 60
        while len(found) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found += [
                    e
                    for e in (Envelope.from_json(r.value) for r in records)
                    if e.bureau_id == bureau
                ]
    finally:
        await consumer.stop()
    return found


async def test_monthly_sign_off_through_the_relay_and_annual_publication(
    stack: LocalStack, client: httpx.AsyncClient
) -> None:
    bureau = f"b-{uuid.uuid4().hex[:10]}"
    reporting = f"{stack.url('reporting')}/bureaus/{bureau}"
    for rid, on, channel in [
        ("R0", "2025-12-30", "online"),
        ("R1", "2026-03-03", "online"),
        ("R2", "2026-03-10", "letter"),
        ("R3", "2026-10-05", "email"),
    ]:
        await register(client, stack, bureau, rid, on, channel)

    async def october() -> Any:
        answer = await client.get(f"{reporting}/monthly-reports/2026/10")
        if answer.status_code != 200:
            return None
        body = answer.json()
        ytd = body["tables"]["二、收到政府信息公开申请（按申请渠道）"]["收到申请总数（件）"]
        return body if ytd["本年累计"] == 3 else None

    await wait_for(october, "reporting to count three 2026 requests")

    # 本期 of the twelve months add up to table 三 row 一 of the annual report.
    monthly = [
        await call(client, "GET", f"{reporting}/monthly-reports/2026/{m}") for m in range(1, 13)
    ]
    received = [m["figures"]["requests.received.total:this_period"] for m in monthly]
    assert received == [0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    annual = await call(client, "GET", f"{reporting}/annual-reports/2026")
    assert sum(received) == annual["tables"]["三"]["一、本年新收政府信息公开申请数量"]["总计"]
    march = monthly[2]["tables"]["二、收到政府信息公开申请（按申请渠道）"]
    assert march["信函"] == {"本期": 1, "本年累计": 1}
    page = await call(
        client, "GET", f"{reporting}/monthly-reports/2026/3", params={"format": "html"}
    )
    assert "2026年3月政府信息公开工作统计月报" in page and "本年累计" in page

    # Sign-off of October (due 2026-11-04): frozen, once; December has not ended.
    signed = await call(
        client,
        "POST",
        f"{reporting}/monthly-reports/2026/10/sign-off",
        201,
        json={"signed_by": "张三"},
    )
    assert signed["due_on"] == "2026-11-04"
    assert signed["figures"] == monthly[9]["figures"]
    assert signed["figures_digest"] == figures_digest(monthly[9]["figures"])
    again = await call(
        client,
        "POST",
        f"{reporting}/monthly-reports/2026/10/sign-off",
        409,
        json={"signed_by": "李四"},
    )
    assert again["detail"]["sign_off"]["signed_by"] == "张三"
    await call(
        client,
        "POST",
        f"{reporting}/monthly-reports/2100/12/sign-off",
        422,
        json={"signed_by": "张三"},
    )

    # The annual report on 2025 is published, then a late-registered 2025 request restates it.
    published = await call(
        client,
        "POST",
        f"{reporting}/annual-reports/2025/publication",
        201,
        json={"signed_by": "王五"},
    )
    assert published["due_on"] == "2026-01-31"
    assert published["figures"][NEW_TOTAL] == 1
    await call(
        client,
        "POST",
        f"{reporting}/annual-reports/2025/publication",
        409,
        json={"signed_by": "王五"},
    )
    unchanged = await call(client, "GET", f"{reporting}/annual-reports/2025/restatement")
    assert unchanged["restated"] is False and unchanged["differences"] == []
    await register(client, stack, bureau, "R4", "2025-12-31", "online")

    async def restated() -> Any:
        body = await call(client, "GET", f"{reporting}/annual-reports/2025/restatement")
        return body if body["restated"] else None

    restatement = await wait_for(restated, "the 2025 report to be restated")
    cells = {d["cell"]: d for d in restatement["differences"]}
    assert (cells[NEW_TOTAL]["published"], cells[NEW_TOTAL]["current"]) == (1, 2)

    # Both events went through reporting's relay onto gongkai.reporting.events.
    events = await reporting_events(stack, bureau, 2)
    payloads = [e.payload() for e in events]
    [submitted] = [p for p in payloads if isinstance(p, MonthlyReportSubmitted)]
    assert (submitted.year, submitted.month, submitted.signed_by) == (2026, 10, "张三")
    assert submitted.figures_digest == signed["figures_digest"]
    assert figures_digest(submitted.figures) == submitted.figures_digest
    [annual_event] = [p for p in payloads if isinstance(p, AnnualReportPublished)]
    assert annual_event.figures[NEW_TOTAL] == 1

    # The central office: October signed (late or on time by today's date), January missing.
    central = await call(client, "GET", f"{stack.url('reporting')}/central/sign-offs?year=2026")
    [ours] = [b for b in central["bureaus"] if b["bureau_id"] == bureau]
    assert ours["months"]["10"]["signed_by"] == "张三"
    assert ours["months"]["10"]["status"] == ("on_time" if signed["on_time"] else "late")
    assert ours["months"]["1"]["status"] == "missing"
    assert {"bureau_id": bureau, "month": 1, "status": "missing"} in central["late"]

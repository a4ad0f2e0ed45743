"""Monthly statistics and sign-off end to end: requests registered over HTTP show up month by
month (adding up to the annual report's table 三 row 一); signing a month off lands a
MonthlyReportSubmitted with the frozen figures on gongkai.reporting.events through reporting's
relay, once; the annual report is published and later restated; the central office sees who
is late."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from gongkai_contracts import Actor, Envelope
from gongkai_contracts.envelope import Role
from gongkai_contracts.events import AnnualReportPublished, MonthlyReportSubmitted
from gongkai_contracts.topics import events_topic
from gongkai_platform.devstack.stack import LocalStack
from reporting_service.sign_off import figures_digest
from tests.e2e.helpers import client_as
from tests.support import bearer

pytestmark = pytest.mark.e2e

NEW_TOTAL = "三||一、本年新收政府信息公开申请数量|总计"


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
    stack: LocalStack,
) -> None:
    bureau = f"b-{uuid.uuid4().hex[:10]}"
    head_user = f"head-{uuid.uuid4().hex[:6]}"
    async with (
        client_as("clerk", bureau, timeout=30) as client,
        httpx.AsyncClient(
            timeout=30, headers=bearer("bureau_head", bureau, head_user, name="局长 张三")
        ) as head,
        client_as("bureau_head", bureau, "head-2", timeout=30) as unnamed_head,
        client_as("central_office", timeout=30) as central,
    ):
        await sign_off_and_publish(stack, bureau, client, head, head_user, unnamed_head, central)


async def sign_off_and_publish(
    stack: LocalStack,
    bureau: str,
    client: httpx.AsyncClient,
    head: httpx.AsyncClient,
    head_user: str,
    unnamed_head: httpx.AsyncClient,
    central: httpx.AsyncClient,
) -> None:
    """`client` is the bureau's clerk, `head` its head 局长 张三 (user `head_user`)."""
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

    # Only the bureau head signs off: not the clerk, not an auditor, not another bureau's
    # head, not without a token; and the signer is the token, not a name in the body.
    october_sign_off = f"{reporting}/monthly-reports/2026/10/sign-off"
    publication = f"{reporting}/annual-reports/2025/publication"
    refused = await call(client, "POST", october_sign_off, 403)
    assert refused["detail"] == "this is done by the bureau's bureau_head, not a clerk"
    async with (
        client_as("auditor", user_id="auditor-1") as auditor,
        client_as("bureau_head", f"b-{uuid.uuid4().hex[:10]}", "head-elsewhere") as other_head,
        httpx.AsyncClient(timeout=30) as anonymous,
    ):
        refused = await call(auditor, "POST", october_sign_off, 403)
        assert "does not act for them" in refused["detail"]
        refused = await call(auditor, "POST", publication, 403)
        assert "does not act for them" in refused["detail"]
        refused = await call(other_head, "POST", october_sign_off, 403)
        assert f"may not act for bureau {bureau}" in refused["detail"]
        await call(anonymous, "POST", october_sign_off, 401)
    named = await call(head, "POST", october_sign_off, 422, json={"signed_by": "李四"})
    assert named["detail"][0]["loc"] == ["body", "signed_by"]
    await call(head, "GET", f"{reporting}/monthly-reports/2026/10/sign-off", 404)

    # Sign-off of October (due 2026-11-04) by the head: frozen, once; December has not ended.
    signed = await call(head, "POST", october_sign_off, 201)
    assert (signed["signed_by"], signed["signer"]) == (
        "局长 张三",
        {"user_id": head_user, "role": "bureau_head"},
    )
    assert signed["due_on"] == "2026-11-04"
    assert signed["figures"] == monthly[9]["figures"]
    assert signed["figures_digest"] == figures_digest(monthly[9]["figures"])
    again = await call(unnamed_head, "POST", october_sign_off, 409)
    assert again["detail"]["sign_off"]["signed_by"] == "局长 张三"
    stored = await call(client, "GET", f"{reporting}/monthly-reports/2026/10/sign-off")
    assert stored["signer"] == {"user_id": head_user, "role": "bureau_head"}
    await call(head, "POST", f"{reporting}/monthly-reports/2100/12/sign-off", 422, json={})

    # The annual report on 2025 is published (by a head whose token has no display name: the
    # user id signs), then a late-registered 2025 request restates it.
    published = await call(unnamed_head, "POST", publication, 201)
    assert (published["signed_by"], published["signer"]) == (
        "head-2",
        {"user_id": "head-2", "role": "bureau_head"},
    )
    assert published["due_on"] == "2026-01-31"
    assert published["figures"][NEW_TOTAL] == 1
    await call(head, "POST", publication, 409)
    unchanged = await call(client, "GET", f"{reporting}/annual-reports/2025/restatement")
    assert unchanged["restated"] is False and unchanged["differences"] == []
    await register(client, stack, bureau, "R4", "2025-12-31", "online")

    async def restated() -> Any:
        body = await call(client, "GET", f"{reporting}/annual-reports/2025/restatement")
        return body if body["restated"] else None

    restatement = await wait_for(restated, "the 2025 report to be restated")
    cells = {d["cell"]: d for d in restatement["differences"]}
    assert (cells[NEW_TOTAL]["published"], cells[NEW_TOTAL]["current"]) == (1, 2)

    # Both events went through reporting's relay onto gongkai.reporting.events, each with the
    # signer's token as its actor.
    events = await reporting_events(stack, bureau, 2)
    by_type = {e.event_type: e for e in events}
    submitted = by_type["reporting.MonthlyReportSubmitted"].payload()
    assert isinstance(submitted, MonthlyReportSubmitted)
    assert (submitted.year, submitted.month, submitted.signed_by) == (2026, 10, "局长 张三")
    assert by_type["reporting.MonthlyReportSubmitted"].actor == Actor(
        user_id=head_user, role=Role.BUREAU_HEAD
    )
    assert submitted.figures_digest == signed["figures_digest"]
    assert figures_digest(submitted.figures) == submitted.figures_digest
    annual_event = by_type["reporting.AnnualReportPublished"].payload()
    assert isinstance(annual_event, AnnualReportPublished)
    assert annual_event.figures[NEW_TOTAL] == 1
    assert annual_event.signed_by == "head-2"
    assert by_type["reporting.AnnualReportPublished"].actor == Actor(
        user_id="head-2", role=Role.BUREAU_HEAD
    )

    # The central office: October signed (late or on time by today's date), January missing.
    # The bureau's own staff do not see across bureaus.
    overview = f"{stack.url('reporting')}/central/sign-offs?year=2026"
    central_view = await call(central, "GET", overview)
    [ours] = [b for b in central_view["bureaus"] if b["bureau_id"] == bureau]
    assert ours["months"]["10"]["signed_by"] == "局长 张三"
    assert ours["months"]["10"]["status"] == ("on_time" if signed["on_time"] else "late")
    assert ours["months"]["1"]["status"] == "missing"
    assert {"bureau_id": bureau, "month": 1, "status": "missing"} in central_view["late"]
    await call(head, "GET", overview, 403)

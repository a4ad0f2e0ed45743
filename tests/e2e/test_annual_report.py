"""The annual report end to end: requests across two years (a 2025 ledger, live 2026 work with
replies through three review stages, lapses, a withdrawal, a fee, reconsideration and
litigation) read back from reporting as JSON, CSV, XLSX and HTML, cell by cell, and as of an
instant before the last reply."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest

from gongkai_platform.devstack.stack import LocalStack
from tests.e2e.helpers import assign_reviewers, client_as, review_all_stages
from tests.e2e.test_catalogue_lifecycle import client_for

pytestmark = pytest.mark.e2e

NAME = "常州市人力资源和社会保障局"
TITLE_2026 = f"《{NAME}2026年政府信息公开工作年度报告》"
# 2025 from a ledger (台账): 编号, 收到申请日期, 申请渠道, 申请人类型, 答复结果, 法律依据, 答复日期.
# L4 and L5 are open at the year's end: L5 is withdrawn in 2026, L4 replied to last.
LEDGER_2025 = """\
L1,2025-03-03,online,natural_person,disclosed,条例 第三十六条 第二项,2025-03-20
L2,2025-04-01,letter,commercial_enterprise,withheld_third_party,条例 第十五条,2025-04-25
L3,2025-06-02,email,legal_service_organisation,unavailable_not_held,条例第三十六条第四项,2025-06-20
L4,2025-12-10,in_person,research_institution,,,
L5,2025-12-22,online,natural_person,,,
"""
COLUMNS = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]


class Bureau:
    """One bureau over HTTP as its clerk (a bearer token of the bureau), its assigned reviewers
    in review, and reporting's answers; the central office registers it in the catalogue."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.id = f"b-{uuid.uuid4().hex[:10]}"
        self.client = client_for("clerk", self.id, timeout=30)
        self.central = client_for("central_office", timeout=30)
        self.requests = f"{stack.url('requests')}/bureaus/{self.id}/requests"
        self.reports = f"{stack.url('reporting')}/bureaus/{self.id}/annual-reports"
        self._reviewers_assigned = asyncio.Lock()
        self._assigned = False

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.central.aclose()

    async def call(
        self,
        method: str,
        url: str,
        expect: int = 200,
        client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> Any:
        answer = await (client or self.client).request(method, url, **kwargs)
        assert answer.status_code == expect, f"{method} {url}: {answer.status_code} {answer.text}"
        return answer.json()

    async def register_in_catalogue(
        self, name: str, region: str = "江苏省常州市", organisation_code: str = "014416330"
    ) -> None:
        """The central office registers the bureau (reporting takes its name from there)."""
        body = {
            "bureau_id": self.id,
            "name": name,
            "organisation_code": organisation_code,
            "region": region,
        }
        url = f"{self.stack.url('catalogue')}/bureaus"
        await self.call("POST", url, 201, client=self.central, json=body)

    async def register(self, request_id: str, received_on: str, category: str) -> None:
        body = {
            "request_id": request_id,
            "channel": "online",
            "applicant_category": category,
            "received_on": received_on,
            "description": f"申请公开事项 {request_id}",
        }
        await self.call("POST", self.requests, 201, json=body)

    async def do(self, request_id: str, action: str, body: dict[str, Any]) -> Any:
        return await self.call("POST", f"{self.requests}/{request_id}/{action}", json=body)

    async def reply(self, request_id: str, outcome: str, basis: str, on: str) -> None:
        """Draft, three review stages by their assigned reviewers, then send: the
        confidentiality gate in full."""
        async with self._reviewers_assigned:
            if not self._assigned:
                await assign_reviewers(self.stack, self.id)
                self._assigned = True
        draft = await self.call(
            "POST",
            f"{self.requests}/{request_id}/reply-drafts",
            201,
            json={"outcome": outcome, "legal_basis": basis},
        )
        await review_all_stages(self.stack, self.id, draft["draft_id"])
        for _ in range(300):
            if (await self.call("GET", f"{self.requests}/{request_id}"))["status"] == "approved":
                break
            await asyncio.sleep(0.05)
        await self.do(request_id, "reply", {"on": on})

    async def report(self, year: int, **params: Any) -> Any:
        return await self.call("GET", f"{self.reports}/{year}", params=params)

    async def wait_for_report(self, year: int, done: Any, timeout: float = 60) -> Any:
        """Poll until `done(report)`: reporting consumes asynchronously."""
        deadline = asyncio.get_running_loop().time() + timeout
        report: Any = None
        while asyncio.get_running_loop().time() < deadline:
            answer = await self.client.get(f"{self.reports}/{year}")
            if answer.status_code == 200:
                report = answer.json()
                if done(report):
                    return report
            await asyncio.sleep(0.1)
        raise AssertionError(f"reporting never caught up: {report}")


@pytest.fixture
async def bureau(stack: LocalStack) -> AsyncIterator[Bureau]:
    bureau = Bureau(stack)
    try:
        yield bureau
    finally:
        await bureau.aclose()


def ledger_csv() -> bytes:
    header = "编号,收到申请日期,申请渠道,申请人类型,答复结果,法律依据,答复日期,申请内容\n"
    rows = [f"{line},事项 {line[:2]}\n" for line in LEDGER_2025.splitlines()]
    return (header + "".join(rows)).encode("utf-8-sig")


def table3(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Table 三 flattened: row label -> column label -> value."""
    flat: dict[str, dict[str, int]] = {}
    for label, value in report["tables"]["三"].items():
        if label == "三、本年度办理结果":
            for sub, inner in value.items():
                if "总计" in inner:
                    flat[sub] = inner
                else:
                    flat.update(inner)
        else:
            flat[label] = value
    return flat


def row(**counts: int) -> dict[str, int]:
    names = {
        "natural": "自然人",
        "company": "商业企业",
        "research": "科研机构",
        "welfare": "社会公益组织",
        "lawyers": "法律服务机构",
        "other": "其他",
    }
    values = {label: 0 for label in COLUMNS}
    for key, n in counts.items():
        values[names[key]] = n
    values["总计"] = sum(counts.values())
    return values


async def test_the_annual_report_across_two_years(bureau: Bureau, stack: LocalStack) -> None:
    # The bureau's name comes from the catalogue.
    await bureau.register_in_catalogue(NAME)
    # 2025 from a ledger: three replied, two still open at the year's end.
    imported = await bureau.call(
        "POST",
        f"{stack.url('requests')}/bureaus/{bureau.id}/ledger-imports",
        201,
        files={"file": ("台账2025.csv", ledger_csv())},
    )
    assert imported["imported_requests"] == 5

    # 2026, live.
    await bureau.register("B1", "2026-03-03", "natural_person")
    await bureau.reply("B1", "disclosed", "条例 第三十六条 第二项", "2026-03-20")
    await bureau.register("B2", "2026-03-04", "social_welfare_organisation")
    await bureau.do("B2", "withdrawal", {"on": "2026-03-10"})
    await bureau.register("B3", "2026-04-01", "other_organisation")
    await bureau.do(
        "B3", "fee-notice", {"scheme": "per_page", "units": 150, "noticed_on": "2026-04-03"}
    )
    await bureau.do("B3", "fee-payment", {"on": "2026-04-08"})  # 1700.00 元, B3 stays open
    await bureau.register("B4", "2026-05-06", "natural_person")
    await bureau.do(
        "B4",
        "correction-request",
        {"notified_on": "2026-05-08", "correct_by": "2026-05-22", "items_to_correct": "写明文号"},
    )
    await bureau.do("B4", "correction-lapse", {"on": "2026-05-25"})
    await bureau.do("L5", "withdrawal", {"on": "2026-01-05"})
    cases = f"{stack.url('requests')}/bureaus/{bureau.id}/cases"
    await bureau.call(
        "POST",
        cases,
        201,
        json={
            "case_id": "fy-1",
            "kind": "reconsideration",
            "filed_on": "2026-04-10",
            "request_id": "B1",
        },
    )
    await bureau.call(
        "POST", f"{cases}/fy-1/decision", json={"decided_on": "2026-05-20", "decision": "驳回"}
    )
    await bureau.call(
        "POST",
        cases,
        201,
        json={
            "case_id": "ss-1",
            "kind": "litigation_direct",
            "filed_on": "2026-06-01",
            "request_id": "B1",
        },
    )
    # The last reply: L4, received in 2025, answered in 2026 as a repeat request.
    await bureau.reply("L4", "not_processed_repeat", "条例 第三十六条 第六项", "2026-02-10")

    report = await bureau.wait_for_report(
        2026,
        lambda r: (
            table3(r)["（七）总计"]["总计"] == 5
            and r["tables"]["四"]["行政诉讼"]["未经复议直接起诉"]["总计"] == 1
            and r["title"] == TITLE_2026
        ),
    )

    # ------------------------------------------------------------ table 三, 2026
    t3 = table3(report)
    assert t3["一、本年新收政府信息公开申请数量"] == row(natural=2, welfare=1, other=1)
    assert t3["二、上年结转政府信息公开申请数量"] == row(natural=1, research=1)
    assert t3["（一）予以公开"] == row(natural=1)
    assert t3["2.重复申请"] == row(research=1)
    assert t3["1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"] == row(natural=1)
    assert t3["3.其他"] == row(natural=1, welfare=1)
    assert t3["（七）总计"] == row(natural=3, research=1, welfare=1)
    assert t3["四、结转下年度继续办理"] == row(other=1)
    assert t3["3.危及“三安全一稳定”"] == row()
    assert len(t3) == 25
    assert report["checks"] == {"passed": True, "failures": []}
    for column in COLUMNS:  # 一 + 二 = （七）总计 + 四
        assert (
            t3["一、本年新收政府信息公开申请数量"][column]
            + t3["二、上年结转政府信息公开申请数量"][column]
            == t3["（七）总计"][column] + t3["四、结转下年度继续办理"][column]
        )
    assert report["tables"]["四"] == {
        "行政复议": {"结果维持": 1, "结果纠正": 0, "其他结果": 0, "尚未审结": 0, "总计": 1},
        "行政诉讼": {
            "未经复议直接起诉": {
                "结果维持": 0,
                "结果纠正": 0,
                "其他结果": 0,
                "尚未审结": 1,
                "总计": 1,
            },
            "复议后起诉": {"结果维持": 0, "结果纠正": 0, "其他结果": 0, "尚未审结": 0, "总计": 0},
        },
    }
    six = report["sections"][5]
    assert six["heading"] == "六、其他需要报告的事项"
    assert six["paragraphs"] == ["本年度发出信息处理费收费通知1件，实际收取信息处理费1700.00元。"]

    # ------------------------------------------------------------ 2025: carried over
    t2025 = table3(await bureau.report(2025))
    assert t2025["一、本年新收政府信息公开申请数量"] == row(
        natural=2, company=1, research=1, lawyers=1
    )
    assert t2025["（一）予以公开"] == row(natural=1)
    assert t2025["4.保护第三方合法权益"] == row(company=1)
    assert t2025["1.本机关不掌握相关政府信息"] == row(lawyers=1)
    assert t2025["四、结转下年度继续办理"] == t3["二、上年结转政府信息公开申请数量"]

    # ------------------------------------------------------------ what is behind a figure
    other = await bureau.call(
        "GET",
        f"{bureau.reports}/2026/cells",
        params={"table": "三", "row": "3.其他", "column": "总计"},
    )
    assert (other["value"], sorted(other["request_ids"])) == (2, ["B2", "L5"])
    carried = await bureau.call(
        "GET",
        f"{bureau.reports}/2026/cells",
        params={"cell": "三:carried_in:research_institution"},
    )
    assert carried["row"] == "二、上年结转政府信息公开申请数量"
    assert carried["column"] == "科研机构"
    l4_events = await bureau.call("GET", f"{bureau.requests}/L4/events")
    by_type = {e["event_type"]: e for e in l4_events}
    assert carried["request_ids"] == ["L4"]
    assert carried["event_ids"] == [
        by_type["requests.RequestReceived"]["event_id"],
        by_type["requests.ReplySent"]["event_id"],
    ]
    pending = await bureau.call(
        "GET",
        f"{bureau.reports}/2026/cells",
        params={"table": "四", "row": "未经复议直接起诉", "column": "尚未审结"},
    )
    assert pending["case_ids"] == ["ss-1"]
    unknown_row = await bureau.client.get(
        f"{bureau.reports}/2026/cells",
        params={"table": "三", "row": "（六）其他处理", "column": "总计"},
    )
    assert unknown_row.status_code == 422 and "3.其他" in unknown_row.text

    # ------------------------------------------------------------ as of before the last reply
    replied_at = datetime.fromisoformat(by_type["requests.ReplySent"]["recorded_at"])
    before = await bureau.report(2026, as_of=(replied_at - timedelta(microseconds=1)).isoformat())
    earlier = table3(before)
    assert earlier["2.重复申请"] == row()
    assert earlier["四、结转下年度继续办理"] == row(research=1, other=1), "L4 still open"
    assert before["checks"]["passed"] is True
    at_reply = await bureau.report(2026, as_of=replied_at.isoformat())
    assert table3(at_reply)["2.重复申请"] == row(research=1)
    naive = await bureau.client.get(f"{bureau.reports}/2026", params={"as_of": "2026-03-01T00:00"})
    assert naive.status_code == 422

    # ------------------------------------------------------------ narrative, outputs
    narrative = {
        "overview": "2026年，我局认真贯彻落实《中华人民共和国政府信息公开条例》。",
        "problems_and_improvements": "依申请公开答复规范性有待提高。",
        "other_matters": "无。",
    }
    stored = await bureau.call("PUT", f"{bureau.reports}/2026/narrative", json=narrative)
    assert stored["overview"] == narrative["overview"]
    bad = await bureau.client.put(f"{bureau.reports}/2026/narrative", json={"summary": "x"})
    assert bad.status_code == 422
    report = await bureau.report(2026)
    assert report["sections"][0]["paragraphs"] == [narrative["overview"]]
    assert report["sections"][5]["paragraphs"][0] == "无。"

    xlsx = await bureau.client.get(f"{bureau.reports}/2026", params={"format": "xlsx"})
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["报告", "表二", "表三", "表四"]
    sheet = book["表三"]
    merged = {str(m) for m in sheet.merged_cells.ranges}
    assert {"A3:C5", "D3:J3", "E4:I4", "A8:A29"} <= merged
    assert sheet["A30"].value == "四、结转下年度继续办理" and sheet["I30"].value == 1
    assert book["报告"]["A1"].value == TITLE_2026

    page = (await bureau.client.get(f"{bureau.reports}/2026", params={"format": "html"})).text
    assert f"<h1>{TITLE_2026}</h1>" in page
    for label in (
        "三、收到和处理政府信息公开申请情况",
        "3.危及“三安全一稳定”",
        "（七）总计",
        "复议后起诉",
    ):
        assert label in page
    assert narrative["problems_and_improvements"] in page
    assert f'href="/bureaus/{bureau.id}/annual-reports/2026/cells?cell=' in page

    raw = (await bureau.client.get(f"{bureau.reports}/2026", params={"format": "csv"})).content
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert ["三", "三、本年度办理结果/（五）不予处理", "2.重复申请", "科研机构", "1"] in lines

    assert (await bureau.client.get(f"{bureau.reports}/2007")).status_code == 422
    nobody = f"{stack.url('reporting')}/bureaus/nobody-{uuid.uuid4().hex[:6]}/annual-reports/2026"
    assert (await bureau.central.get(nobody)).status_code == 404

    # ------------------------------------------------------------ who may read and write it
    other = f"b-{uuid.uuid4().hex[:10]}"
    async with (
        client_as("clerk", other, "clerk-elsewhere") as outsider,
        client_as("auditor", user_id="auditor-1") as auditor,
        client_as("reviewer", bureau.id) as reviewer,
        httpx.AsyncClient(timeout=30) as anonymous,
    ):
        for url in (f"{bureau.reports}/2026", f"{bureau.reports}/2026/narrative"):
            refused = await outsider.get(url, params={"format": "html"})
            assert refused.status_code == 403, refused.text
            assert refused.json()["detail"] == (
                f"clerk-elsewhere (clerk of {other}) may not read bureau {bureau.id}'s records"
            )
            assert (await anonymous.get(url)).status_code == 401
        # The auditor and the bureau's reviewer read the same report; neither writes it.
        for reader, reason in ((auditor, "does not act for them"), (reviewer, "not a reviewer")):
            seen = await reader.get(f"{bureau.reports}/2026")
            assert seen.status_code == 200, seen.text
            assert table3(seen.json()) == table3(report)
            rewrite = await reader.put(f"{bureau.reports}/2026/narrative", json=narrative)
            assert rewrite.status_code == 403, rewrite.text
            assert reason in rewrite.json()["detail"]
        overwritten = await outsider.put(
            f"{bureau.reports}/2026/narrative", json={"overview": "改写"}
        )
        assert overwritten.status_code == 403
        assert (await anonymous.put(f"{bureau.reports}/2026/narrative", json={})).status_code == 401
    assert (await bureau.report(2026))["sections"][0]["paragraphs"] == [narrative["overview"]]

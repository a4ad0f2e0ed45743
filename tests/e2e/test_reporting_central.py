"""The central office end to end: a parent bureau and two bureaus under it registered in the
catalogue, requests in each through the requests API; reporting's roll-up by parent and by
region adds up to each bureau's annual report, and the dashboard is HTML with inline SVG."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from gongkai_platform.devstack.stack import LocalStack
from tests.e2e.helpers import client_as

pytestmark = pytest.mark.e2e

YEAR = 2026


async def call(
    client: httpx.AsyncClient, method: str, url: str, expect: int = 200, **kw: Any
) -> Any:
    answer = await client.request(method, url, **kw)
    assert answer.status_code == expect, f"{method} {url}: {answer.status_code} {answer.text}"
    return answer


async def test_rollup_by_parent_and_region_and_the_dashboard(stack: LocalStack) -> None:
    tag = uuid.uuid4().hex[:8]
    region = f"江苏省测试市{tag}"
    parent, first, second = f"p-{tag}", f"a-{tag}", f"b-{tag}"
    catalogue, requests = stack.url("catalogue"), stack.url("requests")
    reporting = stack.url("reporting")
    async with (
        client_as("central_office", user_id="central-1", timeout=30) as central,
        client_as("auditor", user_id="auditor-1", timeout=30) as auditor,
        client_as("clerk", first, timeout=30) as first_clerk,
        client_as("clerk", second, timeout=30) as second_clerk,
        httpx.AsyncClient(timeout=30) as anonymous,
    ):
        clerks = {first: first_clerk, second: second_clerk}
        for bureau_id, name, parent_id, where in (
            (parent, "测试市人民政府办公室", None, region),
            (first, "测试市人力资源和社会保障局", parent, region),
            (second, "测试市武进区教育局", parent, f"{region}武进区"),
        ):
            body = {
                "bureau_id": bureau_id,
                "name": name,
                "organisation_code": "014416330",
                "region": where,
                "parent_id": parent_id,
            }
            await call(central, "POST", f"{catalogue}/bureaus", 201, json=body)
        # first: three requests (March, March, May), one withdrawn; second: two (April).
        for bureau_id, request_id, on, category in (
            (first, "A1", "2026-03-03", "natural_person"),
            (first, "A2", "2026-03-20", "commercial_enterprise"),
            (first, "A3", "2026-05-06", "natural_person"),
            (second, "B1", "2026-04-01", "research_institution"),
            (second, "B2", "2026-04-02", "natural_person"),
        ):
            await call(
                clerks[bureau_id],
                "POST",
                f"{requests}/bureaus/{bureau_id}/requests",
                201,
                json={
                    "request_id": request_id,
                    "channel": "online",
                    "applicant_category": category,
                    "received_on": on,
                    "description": f"申请公开事项 {request_id}",
                },
            )
        await call(
            first_clerk,
            "POST",
            f"{requests}/bureaus/{first}/requests/A2/withdrawal",
            json={"on": "2026-03-25"},
        )

        rollup: Any = None
        for _ in range(600):
            answer = await central.get(
                f"{reporting}/central/rollup", params={"year": YEAR, "parent": parent}
            )
            if answer.status_code == 200:
                rollup = answer.json()
                total = rollup["total"]["requests"]
                if (
                    len(rollup["bureaus"]) == 3
                    and total["new"] == 5
                    and total["total"] == 1
                    and all(b["region"] for b in rollup["bureaus"])
                ):
                    break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"reporting never caught up: {rollup}")

        by_id = {b["bureau_id"]: b for b in rollup["bureaus"]}
        assert by_id[first]["parent_id"] == parent and by_id[second]["region"].endswith("武进区")
        assert by_id[first]["name"] == "测试市人力资源和社会保障局"
        assert by_id[first]["requests"]["new"] == 3 and by_id[second]["requests"]["new"] == 2
        assert by_id[first]["requests"]["outcomes"]["other"]["total"] == 1
        assert by_id[first]["received_by_month"]["3"] == 2
        total = rollup["total"]
        assert total["bureaus"] == 3
        assert total["received_by_month"]["3"] == 2 and total["received_by_month"]["4"] == 2
        assert total["requests"]["carried_out"] == 4
        # Each bureau's figures are its annual report's, as its clerk reads it.
        for b in (first, second):
            report = (
                await call(clerks[b], "GET", f"{reporting}/bureaus/{b}/annual-reports/{YEAR}")
            ).json()
            three = report["tables"]["三"]
            assert three["一、本年新收政府信息公开申请数量"]["总计"] == by_id[b]["requests"]["new"]
            assert three["四、结转下年度继续办理"]["总计"] == by_id[b]["requests"]["carried_out"]
        # The lines are kept computed ahead: once nothing changes, a roll-up reads them all
        # from there, equal to the ones computed from the facts.
        kept: Any = None
        for _ in range(100):
            kept = (
                await call(
                    central,
                    "GET",
                    f"{reporting}/central/rollup",
                    params={"year": YEAR, "parent": parent},
                )
            ).json()
            if kept["freshness"]["bureaus_computed_now"] == 0:
                break
            await asyncio.sleep(0.1)
        assert kept["freshness"]["bureaus_kept"] == 3, kept["freshness"]
        assert kept["freshness"]["oldest_kept_line_computed_at"] is not None
        assert kept["bureaus"] == rollup["bureaus"] and kept["total"] == rollup["total"]
        assert kept["kept_ahead"]["passes"] >= 1 and kept["kept_ahead"]["last_error"] is None
        # A new request of the second bureau shows in the next roll-up that sees its fact:
        # that bureau's line moves, the others are as kept.
        await call(
            second_clerk,
            "POST",
            f"{requests}/bureaus/{second}/requests",
            201,
            json={
                "request_id": "B3",
                "channel": "letter",
                "applicant_category": "natural_person",
                "received_on": "2026-06-10",
                "description": "申请公开事项 B3",
            },
        )
        moved: Any = None
        for _ in range(600):
            moved = (
                await call(
                    central,
                    "GET",
                    f"{reporting}/central/rollup",
                    params={"year": YEAR, "parent": parent},
                )
            ).json()
            if moved["total"]["requests"]["new"] == 6:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the new request never showed: {moved}")
        moved_by_id = {b["bureau_id"]: b for b in moved["bureaus"]}
        assert moved_by_id[second]["requests"]["new"] == 3
        assert moved_by_id[second]["received_by_month"]["6"] == 1
        assert moved_by_id[first] == by_id[first] and moved_by_id[parent] == by_id[parent]
        report = (
            await call(second_clerk, "GET", f"{reporting}/bureaus/{second}/annual-reports/{YEAR}")
        ).json()
        assert report["tables"]["三"]["一、本年新收政府信息公开申请数量"]["总计"] == 3
        rollup, by_id = moved, moved_by_id

        # The region nests by prefix: the district holds only the second bureau.
        district = (
            await call(
                central,
                "GET",
                f"{reporting}/central/rollup",
                params={"year": YEAR, "region": f"{region}武进区"},
            )
        ).json()
        assert [b["bureau_id"] for b in district["bureaus"]] == [second]
        assert district["total"]["requests"]["new"] == 3
        # A child as parent: only itself.
        alone = (
            await call(
                central,
                "GET",
                f"{reporting}/central/rollup",
                params={"year": YEAR, "parent": first},
            )
        ).json()
        assert [b["bureau_id"] for b in alone["bureaus"]] == [first]

        page = await call(
            central,
            "GET",
            f"{reporting}/central/dashboard",
            params={"year": YEAR, "region": region},
        )
        assert page.headers["content-type"].startswith("text/html")
        assert "<svg" in page.text and "每月收到政府信息公开申请" in page.text
        assert "测试市武进区教育局" in page.text

        # The self-assessment of the first bureau: A2's withdrawal is no reply, so nothing late;
        # an entered item with its reason, and an evidence item refused.
        base = f"{reporting}/bureaus/{first}/self-assessments/{YEAR}"
        put = await call(
            first_clerk,
            "PUT",
            f"{base}/items/organisation.leadership",
            json={"score": 7, "reason": "领导小组已成立，分管领导调整未及时公布"},
        )
        assert put.json()["score"] == "7"
        await call(
            first_clerk,
            "PUT",
            f"{base}/items/daily.requests_answered_on_time",
            422,
            json={"score": 1, "reason": "x"},
        )
        assessment = (await call(first_clerk, "GET", base)).json()
        assert assessment["max_points"] == "100" and not assessment["complete"]
        parts = assessment["tree"]["items"]
        assert [p["max_points"] for p in parts] == ["15", "10", "75"]
        assert parts[0]["items"][0]["score"] == "7"
        replies = next(i for i in parts[2]["items"] if i["key"].endswith("answered_on_time"))
        assert replies["score"] == "25" and replies["evidence"]["failures"] == []

        # ------------------------------------------------ who may see across bureaus
        # An auditor reads the same roll-up; a bureau's clerk and head may not, nor anyone
        # without a token.
        rollup_params = {"year": YEAR, "parent": parent}
        audited = (
            await call(auditor, "GET", f"{reporting}/central/rollup", params=rollup_params)
        ).json()
        assert audited["total"] == rollup["total"]
        assert [b["bureau_id"] for b in audited["bureaus"]] == [
            b["bureau_id"] for b in rollup["bureaus"]
        ]
        async with client_as("bureau_head", first) as head:
            for staff in (first_clerk, head):
                for path in ("/central/rollup", "/central/dashboard", "/central/sign-offs"):
                    refused = await call(
                        staff, "GET", f"{reporting}{path}", 403, params=rollup_params
                    )
                    assert refused.json()["detail"] == (
                        "reads across all bureaus are for the central office and auditors"
                    )
                refused = await call(staff, "GET", f"{reporting}/requests-received", 403)
        across = (await call(auditor, "GET", f"{reporting}/requests-received")).json()
        assert {(r["bureau_id"], r["month"]) for r in across} >= {(first, 3), (second, 4)}
        await call(anonymous, "GET", f"{reporting}/central/rollup", 401, params=rollup_params)
        await call(anonymous, "GET", f"{reporting}/consumers", 401)
        assert len((await call(central, "GET", f"{reporting}/consumers")).json()) >= 1

        # The self-assessment is the bureau's own: another bureau's clerk neither reads nor
        # scores it; the auditor reads it and scores nothing.
        refused = await call(second_clerk, "GET", base, 403)
        assert refused.json()["detail"] == (
            f"clerk@{second} (clerk of {second}) may not read bureau {first}'s records"
        )
        leadership = f"{base}/items/organisation.leadership"
        await call(second_clerk, "PUT", leadership, 403, json={"score": 1, "reason": "改分"})
        await call(auditor, "PUT", leadership, 403, json={"score": 1, "reason": "改分"})
        assert (await call(auditor, "GET", base)).json()["tree"]["items"][0]["items"][0][
            "score"
        ] == "7"

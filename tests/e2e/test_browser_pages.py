"""The annual report page and the central dashboard as a person sees them: loaded by Debian's
chromium, headless, from the running reporting service. The rendered DOM carries the official
labels and the figures of the requests driven over HTTP; the dashboard draws its SVG charts.
Screenshots go to docs/screenshots/ (annual-report.png, dashboard.png)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from gongkai_platform.devstack.stack import LocalStack
from tests.e2e.test_annual_report import Bureau, table3
from tests.e2e.test_catalogue_lifecycle import Clerk

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
YEAR = 2026
NAME = "常州市人力资源和社会保障局"
OTHER_NAME = "常州市武进区教育局"
FLAGS = (
    "--headless",
    "--no-sandbox",  # as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium_binary() -> str:
    """Debian's chromium; the test fails (not skips) without it, or without a Chinese font,
    which the screenshots need to show anything but boxes. `.ci/run` installs both."""
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "chromium is not installed: `apt-get update && apt-get install -y chromium` "
            "(.ci/run installs it); the report and the dashboard are checked in a real browser"
        )
    fonts = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    )
    if not fonts.stdout.strip():
        pytest.fail(
            "no Chinese font for chromium: `apt-get install -y fonts-wqy-microhei` "
            "(.ci/run installs it); without one the screenshots show boxes"
        )
    return found


class Browser:
    """One headless chromium run per call, each with a new empty profile."""

    def __init__(self, binary: str, profiles: Path) -> None:
        self.binary = binary
        self.profiles = profiles
        self.runs = 0

    async def run(self, *args: str, timeout: float = 90) -> str:
        self.runs += 1
        profile = self.profiles / f"profile-{self.runs}"
        profile.mkdir()
        process = await asyncio.create_subprocess_exec(
            self.binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"chromium {args} did not finish in {timeout}s") from None
        assert process.returncode == 0, f"chromium {args}: {process.returncode} {err.decode()}"
        return out.decode()

    async def dom(self, url: str) -> str:
        return await self.run("--dump-dom", url)

    async def screenshot(self, url: str, path: Path, height: int) -> None:
        await asyncio.to_thread(_fresh, path)
        await self.run(f"--screenshot={path}", f"--window-size=1280,{height}", url)
        head = await asyncio.to_thread(lambda: path.read_bytes()[:8])
        assert head == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"


def _fresh(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)


class Rows(HTMLParser):
    """The text of every table row in a DOM, cell by cell."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.rows:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def rows_of(dom: str) -> list[list[str]]:
    parser = Rows()
    parser.feed(dom)
    return parser.rows


def row_with(rows: list[list[str]], label: str) -> list[str]:
    found = [r for r in rows if label in r]
    assert len(found) == 1, f"{len(found)} rows with {label}: {found}"
    return found[0]


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    yield Browser(chromium_binary(), tmp_path)


async def register(bureau: Bureau, name: str, region: str) -> None:
    await bureau.call(
        "POST",
        f"{bureau.stack.url('catalogue')}/bureaus",
        201,
        json={
            "bureau_id": bureau.id,
            "name": name,
            "organisation_code": "014416330",
            "region": region,
        },
    )


async def test_the_report_and_the_dashboard_in_a_real_browser(
    stack: LocalStack, browser: Browser
) -> None:
    region = f"江苏省常州市{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(timeout=30) as client:
        hrss, education = Bureau(stack, client), Bureau(stack, client)
        await register(hrss, NAME, region)
        await register(education, OTHER_NAME, f"{region}武进区")
        # 人社局: five requests over four months — disclosed, partly, withheld, withdrawn, open.
        for request_id, on, category in (
            ("H1", "2026-02-09", "natural_person"),
            ("H2", "2026-03-03", "natural_person"),
            ("H3", "2026-03-16", "commercial_enterprise"),
            ("H4", "2026-05-06", "natural_person"),
            ("H5", "2026-06-01", "legal_service_organisation"),
        ):
            await hrss.register(request_id, on, category)
        await hrss.reply("H1", "disclosed", "条例 第三十六条 第二项", "2026-02-20")
        await hrss.reply("H2", "partially_disclosed", "条例 第三十七条", "2026-03-20")
        await hrss.reply("H3", "withheld_third_party", "条例 第十五条", "2026-04-03")
        await hrss.do("H4", "withdrawal", {"on": "2026-05-12"})
        cases = f"{stack.url('requests')}/bureaus/{hrss.id}/cases"
        await hrss.call(
            "POST",
            cases,
            201,
            json={
                "case_id": "fy-1",
                "kind": "reconsideration",
                "filed_on": "2026-04-20",
                "request_id": "H3",
            },
        )
        await hrss.call(
            "POST", f"{cases}/fy-1/decision", json={"decided_on": "2026-06-15", "decision": "驳回"}
        )
        clerk = Clerk(stack, client, bureau=hrss.id)
        item = await clerk.draft("关于调整2026年度社会保险缴费基数的通知", formed_on="2026-03-02")
        await clerk.approve(item)
        await clerk.do(item, "publication", {"published_on": "2026-03-10"})
        # 教育局: one request, disclosed.
        await education.register("E1", "2026-04-13", "natural_person")
        await education.reply("E1", "disclosed", "条例 第三十六条 第二项", "2026-04-24")

        report = await hrss.wait_for_report(
            YEAR,
            lambda r: (
                table3(r)["（七）总计"]["总计"] == 4
                and r["tables"]["四"]["行政复议"]["结果维持"] == 1
                and r["tables"]["二"]["第二十条第（一）项"]["行政规范性文件"]["本年制发件数"] == 1
            ),
        )
        assert report["checks"]["passed"] is True
        await education.wait_for_report(YEAR, lambda r: table3(r)["（七）总计"]["总计"] == 1)

    reporting = stack.url("reporting")
    report_url = f"{reporting}/bureaus/{hrss.id}/annual-reports/{YEAR}?format=html"
    dashboard_url = f"{reporting}/central/dashboard?{httpx.QueryParams(year=YEAR, region=region)}"

    # ------------------------------------------------------------ the annual report
    started = time.monotonic()
    dom = await browser.dom(report_url)
    print(f"\nchromium --dump-dom of the annual report: {time.monotonic() - started:.1f}s")
    assert f"<h1>《{NAME}{YEAR}年政府信息公开工作年度报告》</h1>" in dom
    for label in (
        "一、总体情况",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
        "五、存在的主要问题及改进情况",
        "六、其他需要报告的事项",
        "本年新收政府信息公开申请数量",
        "（七）总计",
        "四、结转下年度继续办理",
        "结果维持",
        "复议后起诉",
    ):
        assert label in dom, label
    rows = rows_of(dom)
    # 自然人, 商业企业, 科研机构, 社会公益组织, 法律服务机构, 其他, 总计
    assert row_with(rows, "一、本年新收政府信息公开申请数量")[-7:] == [
        "3",
        "1",
        "0",
        "0",
        "1",
        "0",
        "5",
    ]
    assert row_with(rows, "（一）予以公开")[-7:] == ["1", "0", "0", "0", "0", "0", "1"]
    assert row_with(rows, "4.保护第三方合法权益")[-7:] == ["0", "1", "0", "0", "0", "0", "1"]
    assert row_with(rows, "（七）总计")[-7:] == ["3", "1", "0", "0", "0", "0", "4"]
    assert row_with(rows, "四、结转下年度继续办理")[-7:] == ["0", "0", "0", "0", "1", "0", "1"]
    # Table 四: the body row, 行政复议 then 未经复议直接起诉 and 复议后起诉, five columns each.
    fifteen = [r for r in rows if len(r) == 15 and all(c.isdigit() for c in r)]
    assert fifteen == [["1", "0", "0", "0", "1"] + ["0"] * 10], fifteen
    # Table 二: one normative document issued, in force.
    assert row_with(rows, "行政规范性文件")[-3:] == ["1", "0", "1"]
    started = time.monotonic()
    await browser.screenshot(report_url, SCREENSHOTS / "annual-report.png", height=2600)
    print(f"chromium --screenshot of the annual report: {time.monotonic() - started:.1f}s")

    # ------------------------------------------------------------ the central dashboard
    dom = await browser.dom(dashboard_url)
    assert f"<h1>{YEAR}年政府信息公开工作统计概览</h1>" in dom
    for label in (
        "每月收到政府信息公开申请（件）",
        "办理结果构成（件）",
        "各机关按期答复率",
        "逾期报送（月报及年度报告）",
        "各机关主要数据",
        NAME,
        OTHER_NAME,
    ):
        assert label in dom, label
    assert dom.count("<svg") == 4, "four charts"
    assert "<rect" in dom, "the charts draw bars"
    assert f"地区：{region}；机关 2 个" in dom
    assert "本年新收申请 6 件，上年结转 0 件，办结 5 件，结转下年度 1 件" in dom
    table = rows_of(dom)
    assert row_with(table, NAME)[2:6] == ["5", "0", "4", "1"]
    assert row_with(table, OTHER_NAME)[2:6] == ["1", "0", "1", "0"]
    for month in ("2月", "3月", "4月", "5月", "6月"):
        assert f">{month}</text>" in dom
    await browser.screenshot(dashboard_url, SCREENSHOTS / "dashboard.png", height=1100)

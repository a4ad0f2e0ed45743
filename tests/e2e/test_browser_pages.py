"""The annual report page and the central dashboard as a person sees them: loaded by Debian's
chromium, headless, from the running reporting service. The rendered DOM carries the official
labels and the figures of the requests driven over HTTP; the dashboard draws its SVG charts.
Screenshots go to docs/screenshots/ (annual-report.png, dashboard.png)."""

from __future__ import annotations

import asyncio
import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from gongkai_platform.devstack.stack import LocalStack
from tests.e2e.test_annual_report import Bureau, table3
from tests.e2e.test_catalogue_lifecycle import Clerk
from tests.support import bearer

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
    """One headless chromium run per page, each with a new empty profile, driven over the
    DevTools protocol on a pipe (--remote-debugging-pipe: commands on fd 3, answers on fd 4,
    JSON ended by NUL), so that the page's requests carry extra HTTP headers: the bearer token
    of the person looking."""

    def __init__(self, binary: str, profiles: Path) -> None:
        self.binary = binary
        self.profiles = profiles
        self.runs = 0

    async def load(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        *,
        screenshot: Path | None = None,
        height: int = 1000,
        timeout: float = 90,
    ) -> Loaded:
        """Open `url` with `headers` on every request; the HTTP status of the page, its rendered
        DOM and, with `screenshot`, a PNG of the window (1280 × height)."""
        self.runs += 1
        profile = self.profiles / f"profile-{self.runs}"
        profile.mkdir()
        # The child gets our pipe ends as fds 3 and 4; dup them above 10 first so that
        # neither redirection overwrites the other.
        to_chromium, commands = os.pipe()
        answers, from_chromium = os.pipe()
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chromium, from_chromium)]
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            'exec 3<&"$1" 4>&"$2"; shift 2; exec "$@"',
            "chromium",
            *(str(fd) for fd in high),
            self.binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size=1280,{height}",
            "--remote-debugging-pipe",
            pass_fds=high,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for fd in (to_chromium, from_chromium, *high):
            os.close(fd)
        session = DevTools(answers, commands)
        try:
            return await asyncio.wait_for(
                session.load(url, headers or {}, screenshot, height), timeout
            )
        except TimeoutError:
            raise AssertionError(f"chromium did not load {url} in {timeout}s") from None
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
            session.close()


@dataclass(frozen=True)
class Loaded:
    status: int
    dom: str


class DevTools:
    """The few DevTools commands a page needs, over the pipe; events are read past while
    waiting for an answer, the ones asked for are kept."""

    def __init__(self, answers: int, commands: int) -> None:
        self.reader = os.fdopen(answers, "rb", buffering=0)
        self.writer = os.fdopen(commands, "wb", buffering=0)
        self.next_id = 0
        self.buffer = b""
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        self.reader.close()
        self.writer.close()

    async def _message(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            chunk = await asyncio.to_thread(self.reader.read, 1 << 20)
            if not chunk:
                raise AssertionError("chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(raw)  # type: ignore[no-any-return]

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await asyncio.to_thread(self.writer.write, json.dumps(message).encode() + b"\0")
        while True:
            answer = await self._message()
            if answer.get("id") == self.next_id:
                assert "error" not in answer, f"{method}: {answer['error']}"
                return answer.get("result", {})  # type: ignore[no-any-return]
            if "method" in answer:
                self.events.append(answer)

    async def event(self, method: str) -> dict[str, Any]:
        while True:
            for e in self.events:
                if e["method"] == method:
                    self.events.remove(e)
                    return e.get("params", {})  # type: ignore[no-any-return]
            message = await self._message()
            if "method" in message:
                self.events.append(message)

    async def load(
        self, url: str, headers: dict[str, str], screenshot: Path | None, height: int
    ) -> Loaded:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        session = attached["sessionId"]
        await self.send("Network.enable", session=session)
        await self.send("Network.setExtraHTTPHeaders", {"headers": headers}, session)
        await self.send("Page.enable", session=session)
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        navigated = await self.send("Page.navigate", {"url": url}, session)
        assert "errorText" not in navigated, f"{url}: {navigated['errorText']}"
        while True:
            response = await self.event("Network.responseReceived")
            if response.get("type") == "Document":
                status = int(response["response"]["status"])
                break
        await self.event("Page.loadEventFired")
        evaluated = await self.send(
            "Runtime.evaluate",
            {"expression": "document.documentElement.outerHTML", "returnByValue": True},
            session,
        )
        dom = str(evaluated["result"]["value"])
        if screenshot is not None:
            shot = await self.send("Page.captureScreenshot", {"format": "png"}, session)
            png = base64.b64decode(shot["data"])
            assert png[:8] == b"\x89PNG\r\n\x1a\n", f"{screenshot} is not a PNG"
            await asyncio.to_thread(_write, screenshot, png)
        await self.send("Browser.close")
        return Loaded(status, dom)


def _write(path: Path, data: bytes) -> None:
    _fresh(path)
    path.write_bytes(data)


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


async def test_the_report_and_the_dashboard_in_a_real_browser(
    stack: LocalStack, browser: Browser
) -> None:
    region = f"江苏省常州市{uuid.uuid4().hex[:6]}"
    hrss, education = Bureau(stack), Bureau(stack)
    clerk = Clerk(stack, bureau=hrss.id)
    try:
        await hrss.register_in_catalogue(NAME, region)
        await education.register_in_catalogue(OTHER_NAME, f"{region}武进区")
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
        # The replies above assigned the bureau's reviewers; they review the item too.
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
    finally:
        for closing in (hrss, education, clerk):
            await closing.aclose()

    reporting = stack.url("reporting")
    report_url = f"{reporting}/bureaus/{hrss.id}/annual-reports/{YEAR}?format=html"
    dashboard_url = f"{reporting}/central/dashboard?{httpx.QueryParams(year=YEAR, region=region)}"
    # The bureau's clerk looks at its report; the central office at the dashboard.
    as_clerk = bearer("clerk", hrss.id, "clerk-1")
    as_central_office = bearer("central_office", user_id="central-1")

    # ------------------------------------------------------------ without the right token
    anonymous = await browser.load(report_url)
    assert anonymous.status == 401 and "bearer token" in anonymous.dom
    assert NAME not in anonymous.dom
    clerk_on_dashboard = await browser.load(dashboard_url, as_clerk)
    assert clerk_on_dashboard.status == 403
    assert "reads across all bureaus are for the central office and auditors" in (
        clerk_on_dashboard.dom
    )
    assert "<svg" not in clerk_on_dashboard.dom

    # ------------------------------------------------------------ the annual report
    started = time.monotonic()
    page = await browser.load(report_url, as_clerk)
    print(f"\nchromium, the annual report's DOM: {time.monotonic() - started:.1f}s")
    assert page.status == 200
    dom = page.dom
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
    shot = SCREENSHOTS / "annual-report.png"
    await browser.load(report_url, as_clerk, screenshot=shot, height=2600)
    print(f"chromium, a screenshot of the annual report: {time.monotonic() - started:.1f}s")

    # ------------------------------------------------------------ the central dashboard
    dashboard = await browser.load(dashboard_url, as_central_office)
    assert dashboard.status == 200
    dom = dashboard.dom
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
    shot = SCREENSHOTS / "dashboard.png"
    await browser.load(dashboard_url, as_central_office, screenshot=shot, height=1100)

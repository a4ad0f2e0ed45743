"""The report's outputs: JSON keyed by the official labels, CSV, XLSX with the merged headers of
the published tables, and a self-contained HTML page whose figures link to their sources."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl  # type: ignore[import-untyped]
import pytest

from gongkai_contracts.vocabulary import (
    ApplicantCategory,
    CaseResult,
    Channel,
    ItemCategory,
    ReplyOutcome,
)
from reporting_service.annual_report import layout as L
from reporting_service.annual_report.builder import AnnualReport, build_annual_report
from reporting_service.annual_report.facts import (
    CaseFact,
    CaseFactKind,
    Facts,
    ItemFact,
    ItemFactKind,
    Narrative,
    RequestFact,
    RequestFactKind,
)
from reporting_service.annual_report.grid import Grid, report_grids
from reporting_service.annual_report.html import report_html
from reporting_service.annual_report.tabular import CSV_HEADER, report_csv, report_json
from reporting_service.annual_report.xlsx import report_xlsx

AT = datetime(2027, 1, 5, tzinfo=UTC)


def facts() -> Facts:
    def received(rid: str, on: date, category: ApplicantCategory) -> RequestFact:
        return RequestFact(
            f"{rid}-1", rid, RequestFactKind.RECEIVED, on, AT, category, Channel.EMAIL
        )

    def closed(rid: str, on: date, outcome: ReplyOutcome) -> RequestFact:
        return RequestFact(f"{rid}-2", rid, RequestFactKind.CLOSED, on, AT, outcome=outcome)

    return Facts(
        requests=[
            received("r1", date(2026, 2, 1), ApplicantCategory.NATURAL_PERSON),
            closed("r1", date(2026, 2, 20), ReplyOutcome.WITHHELD_ENDANGERS_SECURITY),
            received("r2", date(2025, 12, 30), ApplicantCategory.RESEARCH_INSTITUTION),
            closed("r2", date(2026, 1, 20), ReplyOutcome.DISCLOSED),
            received("r3", date(2026, 12, 1), ApplicantCategory.NATURAL_PERSON),
        ],
        cases=[
            CaseFact(
                "c1-1", "c1", CaseFactKind.FILED, date(2026, 3, 1), AT, L.CaseBlock.RECONSIDERATION
            ),
            CaseFact(
                "c1-2", "c1", CaseFactKind.DECIDED, date(2026, 5, 1), AT, result=CaseResult.UPHELD
            ),
        ],
        items=[
            ItemFact(
                "i1-1",
                "i1",
                ItemFactKind.PUBLISHED,
                ItemCategory.ADMINISTRATIVE_FEE,
                date(2026, 4, 1),
                AT,
                first_publication=True,
                fee_amount_yuan=Decimal("961716.00"),
            )
        ],
        bureau_names=[(AT, "某市人力资源和社会保障局")],
    )


@pytest.fixture
def report() -> AnnualReport:
    narrative = Narrative("总体情况<script>alert(1)</script>", "问题。", "其他。")
    return build_annual_report("cz-hrss", 2026, facts(), narrative)


def test_json_is_keyed_by_the_official_labels(report: AnnualReport) -> None:
    body = report_json(report)
    assert body["title"] == "《某市人力资源和社会保障局2026年政府信息公开工作年度报告》"
    assert body["format"] == {"code": "2021", "basis": "国办公开办函〔2021〕30号"}
    assert [s["heading"] for s in body["sections"]] == list(L.SECTIONS)
    t3 = body["tables"]["三"]
    assert list(t3) == [
        "一、本年新收政府信息公开申请数量",
        "二、上年结转政府信息公开申请数量",
        "三、本年度办理结果",
        "四、结转下年度继续办理",
    ]
    results = t3["三、本年度办理结果"]
    assert list(results) == [
        "（一）予以公开",
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
        "（三）不予公开",
        "（四）无法提供",
        "（五）不予处理",
        "（六）其他处理",
        "（七）总计",
    ]
    assert results["（三）不予公开"]["3.危及“三安全一稳定”"]["自然人"] == 1
    assert results["（一）予以公开"]["科研机构"] == 1
    assert results["（七）总计"]["总计"] == 2
    assert t3["二、上年结转政府信息公开申请数量"]["总计"] == 1
    assert list(t3["四、结转下年度继续办理"]) == [
        "自然人",
        "商业企业",
        "科研机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
        "总计",
    ]
    assert body["tables"]["四"]["行政复议"]["结果维持"] == 1
    assert body["tables"]["四"]["行政诉讼"]["复议后起诉"]["总计"] == 0
    fee = body["tables"]["二"]["第二十条第（八）项"]["行政事业性收费"]
    assert fee == {"本年收费金额（单位：万元）": "96.1716"}
    assert body["checks"] == {"passed": True, "failures": []}


def test_csv_has_one_figure_per_line(report: AnnualReport) -> None:
    raw = report_csv(report)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_HEADER
    by_cell = {(r[0], r[2], r[3]): r[4] for r in rows[1:]}
    assert len([r for r in rows[1:] if r[0] == "三"]) == 25 * 7
    assert len([r for r in rows[1:] if r[0] == "四"]) == 15
    assert len([r for r in rows[1:] if r[0] == "二"]) == 10
    assert by_cell[("三", "3.危及“三安全一稳定”", "自然人")] == "1"
    assert by_cell[("三", "四、结转下年度继续办理", "总计")] == "1"
    assert by_cell[("二", "行政事业性收费", "本年收费金额（单位：万元）")] == "96.1716"
    assert ["三", "三、本年度办理结果/（三）不予公开", "1.属于国家秘密", "自然人", "0"] in rows


def _covered(grid: Grid) -> list[int]:
    """How many columns each row covers once spans from rows above are counted."""
    taken: set[tuple[int, int]] = set()
    widths = []
    for r, cells in enumerate((*grid.head, *grid.body)):
        c = 0
        for cell in cells:
            while (r, c) in taken:
                c += 1
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    taken.add((r + dr, c + dc))
            c += cell.colspan
        widths.append(len({col for row, col in taken if row == r}))
    return widths


@pytest.mark.parametrize("year", [2026, 2020])
def test_every_grid_row_is_exactly_as_wide_as_its_table(year: int) -> None:
    grids = report_grids(build_annual_report("b", year, facts()))
    assert set(grids) == {"二", "三", "四"}
    for grid in grids.values():
        assert set(_covered(grid)) == {grid.columns}, grid.table
    assert len(grids["三"].body) == (25 if year == 2026 else 23)
    assert build_annual_report("b", 2016, facts()).format is L.ReportFormat.F2007
    assert report_grids(build_annual_report("b", 2016, facts())) == {}


def test_xlsx_opens_with_the_merged_headers_of_the_published_tables(
    report: AnnualReport,
) -> None:
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx(report)))
    assert book.sheetnames == ["报告", "表二", "表三", "表四"]
    text = [row[0] for row in book["报告"].iter_rows(values_only=True)]
    assert text[0] == report.title
    assert "六、其他需要报告的事项" in text

    t3 = book["表三"]
    merged = {str(m) for m in t3.merged_cells.ranges}
    # the grid starts on row 3: note cell 3 × 3, 申请人情况 over seven columns, 法人或其他组织 five
    assert {"A3:C5", "D3:J3", "D4:D5", "E4:I4", "J4:J5"} <= merged
    assert t3["A3"].value == L.TABLE3_NOTE
    assert [t3.cell(5, c).value for c in range(5, 10)] == [
        "商业企业",
        "科研机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
    ]
    assert t3["A6"].value == "一、本年新收政府信息公开申请数量" and "A6:C6" in merged
    assert t3["A8"].value == "三、本年度办理结果" and "A8:A29" in merged  # 22 rows
    assert t3["B10"].value == "（三）不予公开" and "B10:B17" in merged
    assert t3["C12"].value == "3.危及“三安全一稳定”" and t3["D12"].value == 1
    assert t3["B29"].value == "（七）总计" and t3["J29"].value == 2
    assert t3["A30"].value == "四、结转下年度继续办理" and t3["J30"].value == 1

    t4 = book["表四"]
    assert {"A3:E4", "F3:O3", "F4:J4", "K4:O4"} <= {str(m) for m in t4.merged_cells.ranges}
    assert [t4.cell(6, c).value for c in range(1, 6)] == [1, 0, 0, 0, 1]

    t2 = book["表二"]
    assert t2["A3"].value == "第二十条第（一）项" and "A3:D3" in {
        str(m) for m in t2.merged_cells.ranges
    }
    amounts = [row for row in t2.iter_rows(values_only=True) if row[0] == "行政事业性收费"]
    assert amounts == [("行政事业性收费", 96.1716, None, None)]  # a number cell, in 万元


def test_html_reads_like_a_published_report(report: AnnualReport) -> None:
    page = report_html(report, lambda key: f"/cells?cell={key}")
    assert "<h1>《某市人力资源和社会保障局2026年政府信息公开工作年度报告》</h1>" in page
    for heading in L.SECTIONS:
        assert f"<h2>{heading}</h2>" in page
    for label in [r.label for r in L.table3_rows(L.ReportFormat.F2021)]:
        assert f">{label}</th>" in page
    assert '<th rowspan="3" colspan="3">（本列数据的勾稽关系为' in page
    assert '<th colspan="7">申请人情况</th>' in page
    assert '<th rowspan="22">三、本年度办理结果</th>' in page
    assert '<th rowspan="2" colspan="5">行政复议</th>' in page
    assert "&lt;script&gt;" in page and "<script>" not in page  # narrative is escaped
    assert "本年度未收取信息处理费。" in page
    # every figure of tables 三 and 四 links to its sources; table 二 does not
    links = re.findall(r'<a href="/cells\?cell=([^"]+)"', page)
    assert len(links) == 25 * 7 + 15
    assert "三:withheld_endangers_security:natural_person" in links
    assert "四:reconsideration:upheld" in links
    assert not [link for link in links if link.startswith("二")]
    assert "http://" not in page and "https://" not in page and "<link" not in page


def test_html_of_a_2007_era_year_and_of_failed_checks() -> None:
    page = report_html(build_annual_report("b", 2012, facts()))
    assert "<h2>三、依申请公开政府信息情况</h2>" in page
    assert 'class="figures"' in page and "<a " not in page

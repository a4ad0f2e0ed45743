"""The report as an Excel workbook: the text on 报告, each table on its own sheet with the merged
header cells of the published tables."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Border, Font, Side  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from . import layout as L
from .builder import AnnualReport
from .grid import Grid, report_grids

THIN = Side(style="thin")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="top", wrap_text=True)
SECTION_OF_TABLE = {"二": L.PROACTIVE, "三": L.REQUESTS, "四": L.CASES}


def _paint(sheet: Any, grid: Grid, top: int) -> int:
    """Writes the grid from row `top`, merging spans; returns the next free row."""
    taken: set[tuple[int, int]] = set()
    rows = (*grid.head, *grid.body)
    for offset, cells in enumerate(rows):
        r = top + offset
        c = 1
        for cell in cells:
            while (r, c) in taken:
                c += 1
            target = sheet.cell(row=r, column=c, value=cell.value)
            target.font = Font(bold=cell.header)
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    taken.add((r + dr, c + dc))
                    covered = sheet.cell(row=r + dr, column=c + dc)
                    covered.border = BORDER
                    covered.alignment = CENTRE
            if cell.rowspan > 1 or cell.colspan > 1:
                sheet.merge_cells(
                    start_row=r,
                    start_column=c,
                    end_row=r + cell.rowspan - 1,
                    end_column=c + cell.colspan - 1,
                )
            c += cell.colspan
    return top + len(rows)


def report_xlsx(report: AnnualReport) -> bytes:
    workbook = Workbook()
    text = workbook.active
    text.title = "报告"
    text.column_dimensions["A"].width = 100
    text.append([report.title])
    text["A1"].font = Font(bold=True, size=14)
    text["A1"].alignment = CENTRE
    for section in report.sections:
        text.append([section.heading])
        text.cell(row=text.max_row, column=1).font = Font(bold=True)
        for paragraph in section.paragraphs:
            text.append([paragraph])
            text.cell(row=text.max_row, column=1).alignment = LEFT
        if section.table:
            text.append([f"（见工作表“表{section.table}”）"])
        if section.figures:
            for label, value in section.figures:
                text.append([label, value])
    if report.notes:
        text.append([])
        text.append(["编制说明（不属于报告正文）"])
        for note in report.notes:
            text.append([note])
    text.column_dimensions["B"].width = 14

    for name, grid in report_grids(report).items():
        sheet = workbook.create_sheet(f"表{name}")
        sheet.cell(row=1, column=1, value=SECTION_OF_TABLE[name]).font = Font(bold=True)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=grid.columns)
        _paint(sheet, grid, top=3)
        for c in range(1, grid.columns + 1):
            sheet.column_dimensions[get_column_letter(c)].width = 12
        if name == "三":
            sheet.column_dimensions["A"].width = 14
            sheet.column_dimensions["B"].width = 14
            sheet.column_dimensions["C"].width = 40
        if name == "二":
            sheet.column_dimensions["A"].width = 24
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()

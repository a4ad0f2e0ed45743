"""Tables 二, 三 and 四 laid out as in the published reports, with their merged header cells;
the HTML and XLSX outputs both paint these grids."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from . import layout as L
from .builder import AnnualReport, Table, cell_key


@dataclass(frozen=True)
class GridCell:
    value: str | int | Decimal
    rowspan: int = 1
    colspan: int = 1
    header: bool = False
    cell: str | None = None  # the cell key of a figure whose sources can be shown


@dataclass(frozen=True)
class Grid:
    """HTML-style rows: a cell covered by another's span is left out."""

    table: str
    columns: int
    head: tuple[tuple[GridCell, ...], ...]
    body: tuple[tuple[GridCell, ...], ...]


def number_text(value: str | int | Decimal) -> str:
    """0 prints as 0, not blank (disclosure-rules §4, rule 7); a Decimal as it is scaled."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _h(text: str, rowspan: int = 1, colspan: int = 1) -> GridCell:
    return GridCell(text, rowspan, colspan, header=True)


def _figures(table: Table, row: str, columns: list[str], linked: bool) -> list[GridCell]:
    return [
        GridCell(table.value(row, c), cell=cell_key(table.name, row, c) if linked else None)
        for c in columns
    ]


def table2_grid(report: AnnualReport) -> Grid:
    table = report.items
    body: list[tuple[GridCell, ...]] = []
    for block in L.table2_layout(report.format):
        spans = {1: [3], 2: [1, 2], 3: [1, 1, 1]}[len(block.columns)]
        body.append((_h(block.header, colspan=4),))
        body.append(
            (_h(L.CONTENT), *(_h(c, colspan=s) for c, s in zip(block.columns, spans, strict=True)))
        )
        for row in block.rows:
            values = [
                GridCell(table.value(row.label, c), colspan=s, cell=cell_key("二", row.label, c))
                for c, s in zip(block.columns, spans, strict=True)
            ]
            body.append((_h(row.label), *values))
    return Grid("二", 4, (), tuple(body))


def table3_grid(report: AnnualReport) -> Grid:
    table = report.requests
    columns = [key for key, _ in L.APPLICANT_COLUMNS]
    labels = dict(L.APPLICANT_COLUMNS)
    head = (
        (_h(L.TABLE3_NOTE, rowspan=3, colspan=3), _h(L.APPLICANTS, colspan=7)),
        (
            _h(labels[columns[0]], rowspan=2),
            _h(L.ORGANISATIONS, colspan=5),
            _h(labels[L.TOTAL_KEY], rowspan=2),
        ),
        tuple(_h(labels[c]) for c in columns[1:6]),
    )
    rows = L.table3_rows(report.request_layout)
    results = [r for r in rows if r.outcome_row or r.key == L.ROW_TOTAL]
    group_sizes: dict[str, int] = {}
    for r in results:
        if r.group:
            group_sizes[r.group] = group_sizes.get(r.group, 0) + 1
    body: list[tuple[GridCell, ...]] = []
    seen_groups: set[str] = set()
    for r in rows:
        figures = _figures(table, r.key, columns, linked=True)
        if r.key in (L.ROW_NEW, L.ROW_CARRIED_IN, L.ROW_CARRIED_OUT):
            body.append((_h(r.label, colspan=3), *figures))
            continue
        lead: list[GridCell] = []
        if r is results[0]:
            lead.append(_h(L.RESULTS_LABEL, rowspan=len(results)))
        if r.group is None:
            lead.append(_h(r.label, colspan=2))
        else:
            if r.group not in seen_groups:
                seen_groups.add(r.group)
                lead.append(_h(r.group, rowspan=group_sizes[r.group]))
            lead.append(_h(r.label))
        body.append((*lead, *figures))
    return Grid("三", 10, head, tuple(body))


def table4_grid(report: AnnualReport) -> Grid:
    table = report.cases
    columns = [key for key, _ in L.CASE_COLUMNS]
    head = (
        (
            _h(L.CASE_BLOCK_LABELS[L.CaseBlock.RECONSIDERATION], rowspan=2, colspan=5),
            _h(L.LITIGATION, colspan=10),
        ),
        (
            _h(L.CASE_BLOCK_LABELS[L.CaseBlock.LITIGATION_DIRECT], colspan=5),
            _h(L.CASE_BLOCK_LABELS[L.CaseBlock.LITIGATION_AFTER_RECONSIDERATION], colspan=5),
        ),
        tuple(_h(label) for _block in L.CaseBlock for _key, label in L.CASE_COLUMNS),
    )
    figures = [
        cell for block in L.CaseBlock for cell in _figures(table, block.value, columns, True)
    ]
    return Grid("四", 15, head, (tuple(figures),))


def report_grids(report: AnnualReport) -> dict[str, Grid]:
    """The grids the report prints: none for the 2007-era format, which has no national table."""
    if report.format is L.ReportFormat.F2007:
        return {}
    return {"二": table2_grid(report), "三": table3_grid(report), "四": table4_grid(report)}

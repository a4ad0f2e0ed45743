"""The report as JSON (rows and columns keyed by the official labels) and as CSV (one figure
per line: table, block, row, column, value)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from . import layout as L
from .builder import AnnualReport
from .grid import number_text

JsonValue = int | str


def _json_value(value: int | Decimal) -> JsonValue:
    return number_text(value) if isinstance(value, Decimal) else value


def figure_lines(report: AnnualReport) -> Iterator[tuple[str, str, str, str, int | Decimal]]:
    """Every printed figure as (table or section, block, row label, column label, value)."""
    if report.format is L.ReportFormat.F2007:
        for section in report.sections:
            for label, value in section.figures:
                yield section.heading, "", label, "", value
        return
    for block in L.table2_layout(report.format):
        for row in block.rows:
            for column in block.columns:
                yield "二", block.header, row.label, column, report.items.value(row.label, column)
    for r in L.table3_rows(report.request_layout):
        group = ""
        if r.outcome_row or r.key == L.ROW_TOTAL:
            group = L.RESULTS_LABEL + (f"/{r.group}" if r.group else "")
        for key, label in L.APPLICANT_COLUMNS:
            yield "三", group, r.label, label, report.requests.value(r.key, key)
    for case_block in L.CaseBlock:
        group = "" if case_block is L.CaseBlock.RECONSIDERATION else L.LITIGATION
        for key, label in L.CASE_COLUMNS:
            yield (
                "四",
                group,
                L.CASE_BLOCK_LABELS[case_block],
                label,
                report.cases.value(case_block.value, key),
            )


def _table2_json(report: AnnualReport) -> dict[str, Any]:
    return {
        block.header: {
            row.label: {c: _json_value(report.items.value(row.label, c)) for c in block.columns}
            for row in block.rows
        }
        for block in L.table2_layout(report.format)
    }


def _table3_json(report: AnnualReport) -> dict[str, Any]:
    def columns(row_key: str) -> dict[str, JsonValue]:
        return {
            label: _json_value(report.requests.value(row_key, key))
            for key, label in L.APPLICANT_COLUMNS
        }

    out: dict[str, Any] = {}
    results: dict[str, Any] = {}
    for r in L.table3_rows(report.request_layout):
        if r.outcome_row or r.key == L.ROW_TOTAL:
            target = results.setdefault(r.group, {}) if r.group else results
            target[r.label] = columns(r.key)
            out[L.RESULTS_LABEL] = results
        else:
            out[r.label] = columns(r.key)
    return out


def _table4_json(report: AnnualReport) -> dict[str, Any]:
    def block(b: L.CaseBlock) -> dict[str, JsonValue]:
        return {label: _json_value(report.cases.value(b.value, k)) for k, label in L.CASE_COLUMNS}

    return {
        L.CASE_BLOCK_LABELS[L.CaseBlock.RECONSIDERATION]: block(L.CaseBlock.RECONSIDERATION),
        L.LITIGATION: {
            L.CASE_BLOCK_LABELS[b]: block(b)
            for b in (L.CaseBlock.LITIGATION_DIRECT, L.CaseBlock.LITIGATION_AFTER_RECONSIDERATION)
        },
    }


def report_json(report: AnnualReport) -> dict[str, Any]:
    sections: list[dict[str, Any]] = []
    for s in report.sections:
        section: dict[str, Any] = {"heading": s.heading, "paragraphs": list(s.paragraphs)}
        if s.table:
            section["table"] = s.table
        if s.figures:
            section["figures"] = {label: _json_value(v) for label, v in s.figures}
        sections.append(section)
    tables: dict[str, Any] = {}
    if report.format is not L.ReportFormat.F2007:
        tables = {
            "二": _table2_json(report),
            "三": _table3_json(report),
            "四": _table4_json(report),
        }
    return {
        "bureau_id": report.bureau_id,
        "bureau_name": report.bureau_name,
        "year": report.year,
        "title": report.title,
        "format": {"code": report.format.value, "basis": L.FORMAT_BASIS[report.format]},
        "as_of": report.as_of.isoformat() if report.as_of else None,
        "sections": sections,
        "tables": tables,
        "checks": {
            "passed": not report.failures,
            "failures": [asdict(f) for f in report.failures],
        },
        "notes": list(report.notes),
    }


CSV_HEADER = ("表", "栏目", "行", "列", "数值")


def report_csv(report: AnnualReport) -> bytes:
    """UTF-8 with a byte order mark, so spreadsheet programs read the Chinese labels."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for table, block, row, column, value in figure_lines(report):
        writer.writerow((table, block, row, column, number_text(value)))
    return out.getvalue().encode("utf-8-sig")

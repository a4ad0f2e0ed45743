"""The monthly statistics as JSON (Chinese labels) and as one self-contained HTML page."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from .builder import THIS_PERIOD, YEAR_TO_DATE, Figure, MonthlyReport


def _value(value: Figure) -> int | str:
    return f"{value:.2f}" if isinstance(value, Decimal) else value


def monthly_json(report: MonthlyReport) -> dict[str, Any]:
    groups: dict[str, dict[str, dict[str, int | str]]] = {}
    for line in report.lines:
        groups.setdefault(line.group, {})[line.label] = {
            THIS_PERIOD: _value(line.this_period),
            YEAR_TO_DATE: _value(line.year_to_date),
        }
    return {
        "bureau_id": report.bureau_id,
        "year": report.year,
        "month": report.month,
        "title": report.title,
        "as_of": report.as_of.isoformat() if report.as_of else None,
        "tables": groups,
        "figures": report.figures(),
        "notes": NOTES,
    }


NOTES = [
    "本期为当月；本年累计为1月1日至当月末。“月末尚未办结”为月末时点数，两栏相同。",
    "申请按收到申请之日计入，办结按答复（或终止）之日计入，与年度报告表三口径一致，"
    "十二个月本期之和等于年度数。",
    "主动公开按条目首次公开之日及其首次公开时的类别统计。",
]

STYLE = """
body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; margin: 2em auto;
       max-width: 48em; line-height: 1.7; color: #000; background: #fff; }
h1 { text-align: center; font-size: 1.4em; }
table { border-collapse: collapse; width: 100%; font-size: 0.95em; }
th, td { border: 1px solid #000; padding: 0.25em 0.5em; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th.group { text-align: left; background: #f2f2f2; }
.notes { color: #555; font-size: 0.9em; }
"""


def monthly_html(report: MonthlyReport) -> str:
    rows: list[str] = []
    group = None
    for line in report.lines:
        if line.group != group:
            group = line.group
            rows.append(f'<tr><th class="group" colspan="3">{escape(group)}</th></tr>')
        rows.append(
            f"<tr><td>{escape(line.label)}</td>"
            f'<td class="n">{_value(line.this_period)}</td>'
            f'<td class="n">{_value(line.year_to_date)}</td></tr>'
        )
    as_of = f"<p>截至 {escape(report.as_of.isoformat())} 的记录</p>" if report.as_of else ""
    notes = "".join(f"<p>{escape(n)}</p>" for n in NOTES)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(report.title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(report.title)}</h1>{as_of}"
        f"<table><thead><tr><th>项目</th><th>{THIS_PERIOD}</th><th>{YEAR_TO_DATE}</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        f'<div class="notes">{notes}</div></body></html>'
    )

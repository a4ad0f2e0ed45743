"""The central office's dashboard: one self-contained HTML page with inline SVG charts (no
scripts, no external assets). Pure: from a roll-up and the late sign-offs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from ..annual_report import layout as L
from .rollup import LateSignOffs, Rollup, request_rows

BAR = "#b22222"
GRID = "#ccc"


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def month_bars(counts: Mapping[int, int], title: str) -> str:
    """Vertical bars, one per month (1月 … 12月), the count above each."""
    width, height, left, bottom, step = 640, 240, 40, 30, 48
    top = max(counts.values(), default=0) or 1
    plot = height - bottom - 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        f'stroke="{GRID}"/>',
    ]
    for i, month in enumerate(sorted(counts)):
        n = counts[month]
        h = round(plot * n / top)
        x = left + i * step + 8
        y = height - bottom - h
        parts.append(f'<rect x="{x}" y="{y}" width="{step - 16}" height="{h}" fill="{BAR}"/>')
        parts.append(
            f'<text x="{x + (step - 16) / 2}" y="{y - 4}" text-anchor="middle" '
            f'font-size="12">{n}</text>'
        )
        parts.append(
            f'<text x="{x + (step - 16) / 2}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="12">{month}月</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _text_width(text: str, size: int) -> int:
    """Roughly how wide `text` is drawn at `size` px: CJK characters are square, the rest about
    0.6 em."""
    return math.ceil(sum(size if ord(c) >= 0x2E80 else size * 0.6 for c in text))


def horizontal_bars(items: Sequence[tuple[str, float, str]], top: float, title: str) -> str:
    """One bar per (label, value, text shown after the bar), scaled to `top`."""
    # The label and text columns are as wide as their longest entry, so nothing is clipped;
    # a chart wider than the page scales down (viewBox, max-width).
    bar_width, row = 300, 24
    label_width = max([120] + [_text_width(label, 13) + 12 for label, _, _ in items])
    text_width = max([90] + [_text_width(text, 12) + 12 for _, _, text in items])
    height = max(len(items), 1) * row + 10
    width = label_width + bar_width + text_width
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="max-width:100%;height:auto">'
        f"<title>{escape(title)}</title>"
    ]
    if not items:
        parts.append('<text x="4" y="20" font-size="13">（无数据）</text>')
    for i, (label, value, text) in enumerate(items):
        y = 5 + i * row
        w = round(bar_width * value / top) if top else 0
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" '
            f'font-size="13">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{w}" height="{row - 8}" fill="{BAR}"/>'
        )
        parts.append(
            f'<text x="{label_width + w + 6}" y="{y + 15}" font-size="12">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def outcome_mix(rollup: Rollup) -> list[tuple[str, int]]:
    """The outcome rows of table 三 (总计 column) with their sums, rows with none left out."""
    fmt = _fmt(rollup)
    out = []
    for row in request_rows(fmt):
        if not row.outcome_row:
            continue
        n = rollup.total.requests.get(row.key, 0)
        if n:
            label = f"{row.group}·{row.label}" if row.group else row.label
            out.append((label, n))
    return out


def _fmt(rollup: Rollup) -> L.ReportFormat:
    fmt = L.format_for_year(rollup.year)
    return L.ReportFormat.F2019 if fmt is L.ReportFormat.F2019 else L.ReportFormat.F2021


def dashboard_html(rollup: Rollup, late: Mapping[str, LateSignOffs], today: str) -> str:
    total = rollup.total
    scope = "、".join(
        s
        for s in (
            f"地区：{rollup.region}" if rollup.region else "",
            f"主管部门：{rollup.parent}" if rollup.parent else "",
        )
        if s
    )
    title = f"{rollup.year}年政府信息公开工作统计概览"
    mix = outcome_mix(rollup)
    rates = [
        (line.name, float(r), _percent(float(r)))
        if (r := line.figures.on_time_rate) is not None
        else (line.name, 0.0, "无答复")
        for line in rollup.bureaus
    ]
    names = {line.profile.bureau_id: line.name for line in rollup.bureaus}
    lateness = [(names.get(b, b), float(s.count), _late_text(s)) for b, s in sorted(late.items())]
    rate = total.on_time_rate
    mix_chart = horizontal_bars(
        [(label, float(n), str(n)) for label, n in mix],
        max((n for _, n in mix), default=0),
        "办理结果构成",
    )
    rows = "".join(
        f"<tr><td>{escape(line.name)}</td><td>{escape(line.profile.region or '')}</td>"
        f"<td>{line.figures.requests.get(L.ROW_NEW, 0)}</td>"
        f"<td>{line.figures.requests.get(L.ROW_CARRIED_IN, 0)}</td>"
        f"<td>{line.figures.requests.get(L.ROW_TOTAL, 0)}</td>"
        f"<td>{line.figures.requests.get(L.ROW_CARRIED_OUT, 0)}</td>"
        f"<td>{_percent(None if (r := line.figures.on_time_rate) is None else float(r))}</td>"
        "</tr>"
        for line in rollup.bureaus
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:"SimSun","Songti SC",serif;margin:2em auto;max-width:60em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:2px 8px;text-align:right}}
td:first-child,td:nth-child(2),th:first-child,th:nth-child(2){{text-align:left}}h2{{font-size:1.1em;margin-top:1.5em}}</style>
</head><body>
<h1>{escape(title)}</h1>
<p>{escape(scope or "全部机关")}；机关 {len(rollup.bureaus)} 个；统计日期 {escape(today)}</p>
<p>本年新收申请 {total.requests.get(L.ROW_NEW, 0)} 件，上年结转 \
{total.requests.get(L.ROW_CARRIED_IN, 0)} 件，办结 {total.requests.get(L.ROW_TOTAL, 0)} 件，\
结转下年度 {total.requests.get(L.ROW_CARRIED_OUT, 0)} 件；按期答复率 \
{_percent(None if rate is None else float(rate))}。</p>
<h2>每月收到政府信息公开申请（件）</h2>
{month_bars(total.received_by_month, "每月收到申请")}
<h2>办理结果构成（件）</h2>
{mix_chart}
<h2>各机关按期答复率</h2>
{horizontal_bars(rates, 1.0, "按期答复率")}
<h2>逾期报送（月报及年度报告）</h2>
{horizontal_bars(lateness, max((v for _, v, _ in lateness), default=0.0), "逾期报送")}
<h2>各机关主要数据</h2>
<table><tr><th>机关</th><th>地区</th><th>本年新收</th><th>上年结转</th><th>办结</th>
<th>结转下年度</th><th>按期答复率</th></tr>{rows}</table>
</body></html>
"""


def _late_text(s: LateSignOffs) -> str:
    parts = []
    if s.late_months:
        parts.append("逾期：" + "、".join(f"{m}月" for m in s.late_months))
    if s.missing_months:
        parts.append("逾期未报：" + "、".join(f"{m}月" for m in s.missing_months))
    if s.annual is not None:
        parts.append("年度报告" + ("逾期" if s.annual.value == "late" else "逾期未报"))
    return "；".join(parts) or "无"

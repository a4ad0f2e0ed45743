"""The public catalogue (公开目录) as one self-contained HTML page: no scripts, no assets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import urlencode

from gongkai_contracts.vocabulary import ITEM_CATEGORY_LABELS

from ..domain.item import VALIDITY_LABELS

COLUMNS = ("索引号", "名称", "文号", "发布机构", "生成日期", "发布日期", "有效性")

_STYLE = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; }
table { border-collapse: collapse; width: 100%; margin-top: 1em; }
th, td { border: 1px solid #999; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; white-space: nowrap; }
td.date, td.index { white-space: nowrap; }
form label { margin-right: 1em; }
.summary { color: #555; font-size: 0.9em; }
.repealed { color: #a00; }
nav { margin-top: 1em; }
"""


def _option(value: str, label: str, selected: str | None) -> str:
    chosen = " selected" if value == (selected or "") else ""
    return f'<option value="{escape(value)}"{chosen}>{escape(label)}</option>'


def catalogue_html(
    bureau: Mapping[str, Any],
    total: int,
    rows: Sequence[Mapping[str, Any]],
    query: Mapping[str, Any],
    limit: int,
    offset: int,
) -> str:
    """`query`: the search as given (q, category, validity, published_from, published_to)."""

    def value(name: str) -> str:
        given = query.get(name)
        return "" if given is None else str(given)

    categories = "".join(
        [_option("", "全部", value("category"))]
        + [_option(c.value, label, value("category")) for c, label in ITEM_CATEGORY_LABELS.items()]
    )
    validities = "".join(
        [_option("", "全部", value("validity"))]
        + [_option(v, label, value("validity")) for v, label in VALIDITY_LABELS.items()]
    )
    body_rows = []
    for row in rows:
        validity = VALIDITY_LABELS.get(row["validity"], row["validity"])
        css = ' class="repealed"' if row["validity"] == "repealed" else ""
        summary = f'<div class="summary">{escape(row["summary"])}</div>' if row["summary"] else ""
        body_rows.append(
            "<tr>"
            f'<td class="index">{escape(row["index_number"])}</td>'
            f"<td>{escape(row['title'])}{summary}</td>"
            f"<td>{escape(row['document_number'] or '')}</td>"
            f"<td>{escape(row['issuing_body'])}</td>"
            f'<td class="date">{row["formed_on"].isoformat()}</td>'
            f'<td class="date">{row["published_on"].isoformat()}</td>'
            f"<td{css}>{escape(validity)}</td>"
            "</tr>"
        )
    if not body_rows:
        body_rows.append(f'<tr><td colspan="{len(COLUMNS)}">没有符合条件的信息</td></tr>')
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)

    def page_link(start: int, label: str) -> str:
        params = {k: v for k, v in query.items() if v not in (None, "")}
        params.update({"format": "html", "limit": limit, "offset": start})
        return f'<a href="?{escape(urlencode(params))}">{label}</a>'

    links = []
    if offset > 0:
        links.append(page_link(max(0, offset - limit), "上一页"))
    if offset + limit < total:
        links.append(page_link(offset + limit, "下一页"))
    shown = f"第 {offset + 1}–{offset + len(rows)} 条，共 {total} 条" if rows else f"共 {total} 条"
    name = escape(bureau["name"])
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{name} 政府信息公开目录</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{name} 政府信息公开目录</h1>
<form method="get">
<input type="hidden" name="format" value="html">
<label>关键词 <input name="q" value="{escape(value("q"))}"></label>
<label>类别 <select name="category">{categories}</select></label>
<label>有效性 <select name="validity">{validities}</select></label>
<label>发布日期 <input type="date" name="published_from" value="{escape(value("published_from"))}">
 至 <input type="date" name="published_to" value="{escape(value("published_to"))}"></label>
<button type="submit">检索</button>
</form>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{"".join(body_rows)}
</tbody>
</table>
<nav>{shown} {" ".join(links)}</nav>
</body>
</html>
"""

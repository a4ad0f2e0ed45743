"""The report as one self-contained HTML page that reads like a published report (no external
assets); each figure of tables 三 and 四 links to the requests or cases behind it."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from .builder import AnnualReport
from .grid import Grid, GridCell, number_text, report_grids

LINKED_TABLES = ("三", "四")

STYLE = """
body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; margin: 2em auto;
       max-width: 62em; line-height: 1.8; color: #000; background: #fff; }
h1 { text-align: center; font-size: 1.6em; font-weight: bold; margin-bottom: 0.2em; }
p.as-of { text-align: center; color: #555; margin-top: 0; }
h2 { font-family: "SimHei", "Heiti SC", "Noto Sans CJK SC", sans-serif; font-size: 1.15em;
     margin-top: 1.6em; }
p { text-indent: 2em; margin: 0.4em 0; }
table { border-collapse: collapse; width: 100%; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #000; padding: 0.3em 0.4em; text-align: center;
         vertical-align: middle; }
th { font-weight: normal; }
.table-三 td { width: 3.2em; }  /* 自然人, 其他, 总计 on one line */
td a { color: inherit; text-decoration: none; }
td a:hover { text-decoration: underline; }
.checks { border: 2px solid #b00; padding: 0.5em 1em; color: #b00; }
.notes { border-top: 1px solid #999; margin-top: 2em; color: #555; font-size: 0.9em; }
.notes p { text-indent: 0; }
"""


def _cell(cell: GridCell, href: Callable[[str], str] | None) -> str:
    tag = "th" if cell.header else "td"
    spans = (f' rowspan="{cell.rowspan}"' if cell.rowspan > 1 else "") + (
        f' colspan="{cell.colspan}"' if cell.colspan > 1 else ""
    )
    text = escape(number_text(cell.value))
    if cell.cell is not None and href is not None:
        text = f'<a href="{escape(href(cell.cell))}" title="查看明细">{text}</a>'
    return f"<{tag}{spans}>{text}</{tag}>"


def _grid(grid: Grid, href: Callable[[str], str] | None) -> str:
    link = href if grid.table in LINKED_TABLES else None
    head = "".join("<tr>" + "".join(_cell(c, None) for c in row) + "</tr>" for row in grid.head)
    body = "".join("<tr>" + "".join(_cell(c, link) for c in row) + "</tr>" for row in grid.body)
    thead = f"<thead>{head}</thead>" if head else ""
    return f'<table class="table-{grid.table}">{thead}<tbody>{body}</tbody></table>'


def report_html(report: AnnualReport, cell_href: Callable[[str], str] | None = None) -> str:
    """`cell_href(cell key)`: the URL that lists what is behind a figure."""
    grids = report_grids(report)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title.strip('《》'))}</title>",
        f"<style>{STYLE}</style></head><body><article>",
        f"<h1>{escape(report.title)}</h1>",
    ]
    if report.as_of is not None:
        parts.append(f'<p class="as-of">（数据截至 {escape(report.as_of.isoformat())}）</p>')
    for section in report.sections:
        parts.append(f"<section><h2>{escape(section.heading)}</h2>")
        parts += [f"<p>{escape(p)}</p>" for p in section.paragraphs]
        if section.table and section.table in grids:
            parts.append(_grid(grids[section.table], cell_href))
        if section.figures:
            rows = "".join(
                f"<tr><th>{escape(label)}</th><td>{escape(number_text(value))}</td></tr>"
                for label, value in section.figures
            )
            parts.append(f'<table class="figures"><tbody>{rows}</tbody></table>')
        parts.append("</section>")
    parts.append("</article>")
    if report.failures:
        items = "".join(f"<li>{escape(f.message)}</li>" for f in report.failures)
        parts.append(
            f'<section class="checks"><h2>勾稽关系校验未通过</h2><ul>{items}</ul></section>'
        )
    if report.notes:
        notes = "".join(f"<p>{escape(n)}</p>" for n in report.notes)
        parts.append(f'<aside class="notes"><h2>编制说明（不属于报告正文）</h2>{notes}</aside>')
    parts.append("</body></html>")
    return "\n".join(parts)

"""台账导入 and hostile files: formulas, wrong encodings, damaged and bomb workbooks, 100,000
rows, odd headers, long and control-character cells. Each gets a clear error naming the row
(0 = the whole file) and column, or imports; none hangs. Files are generated here."""

from __future__ import annotations

import codecs
import csv
import io
import random
import time
import zipfile
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import pytest

from requests_service import ledger
from requests_service.ledger import Ledger, read_ledger

TODAY = date(2026, 11, 27)
HEADER = ["编号", "收到申请日期", "申请渠道", "申请人类型", "申请内容"]


def row(i: int) -> list[str]:
    return [f"L{i:06d}", "2025-03-03", "信函", "自然人", f"2024年度财政预算执行情况 {i}"]


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


def read(content: bytes, name: str) -> Ledger:
    return read_ledger(content, name, today=TODAY)


def refused(content: bytes, name: str) -> ledger.RowError:
    """The one file-level error (row 0 or the header's row); nothing of the file is kept."""
    result = read(content, name)
    assert result.rows == [], result.rows[:1]
    [error] = result.errors
    return error


def timed(content: bytes, name: str, within: float) -> Ledger:
    started = time.monotonic()
    result = read(content, name)
    elapsed = time.monotonic() - started
    assert elapsed < within, f"{name}: {elapsed:.1f}s"
    return result


# ------------------------------------------------------------------- workbooks written by hand

OOXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
PKG = "http://schemas.openxmlformats.org/package/2006"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<Types xmlns="{PKG}/content-types">'
    '<Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{OOXML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{OOXML}.worksheet+xml"/>'
    "%s</Types>"
)
SHARED_TYPE = (
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{OOXML}.sharedStrings+xml"/>'
)
RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{REL}"><sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    "%s</Relationships>"
)
SHARED_REL = f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'


def column(index: int) -> str:
    return ledger.column_letter(index)


def cell(ref: str, value: Any) -> str:
    """A cell as Excel writes it: text inline, numbers plain, `("f", formula, cached)` a
    formula with its cached value."""
    if value is None:
        return f'<c r="{ref}" s="0"/>'  # styled, empty
    if isinstance(value, tuple):
        _, formula, cached = value
        return f'<c r="{ref}"><f>{escape(formula)}</f><v>{cached}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def sheet_xml(rows: list[tuple[int, list[tuple[int, Any]]]], dimension: str = "A1") -> str:
    """`rows`: (row number, [(column number, value)])."""
    body = "".join(
        f'<row r="{n}">' + "".join(cell(f"{column(c)}{n}", v) for c, v in cells) + "</row>"
        for n, cells in rows
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{body}</sheetData></worksheet>'
    )


def numbered(rows: list[list[Any]]) -> list[tuple[int, list[tuple[int, Any]]]]:
    return [(n, list(enumerate(values, start=1))) for n, values in enumerate(rows, start=1)]


def workbook(
    sheet: str, shared: str | None = None, *, extra: dict[str, str] | None = None
) -> bytes:
    """A minimal .xlsx around one sheet's XML, written fast (100,000 rows in a second)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES % (SHARED_TYPE if shared else ""))
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr(
            "xl/_rels/workbook.xml.rels", WORKBOOK_RELS % (SHARED_REL if shared else "")
        )
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared is not None:
            archive.writestr("xl/sharedStrings.xml", shared)
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
    return out.getvalue()


def ledger_xlsx(rows: list[list[Any]], dimension: str = "A1") -> bytes:
    return workbook(sheet_xml(numbered([HEADER, *rows]), dimension))


def test_the_hand_written_workbook_reads_as_a_ledger() -> None:
    result = read(ledger_xlsx([row(1), row(2)]), "台账.xlsx")
    assert result.errors == []
    assert [(r.row, r.request_id) for r in result.rows] == [(2, "L000001"), (3, "L000002")]


# ------------------------------------------------------------------------------- formulas


def test_a_formula_cell_is_refused_even_with_its_cached_value() -> None:
    formula = ("f", 'CONCATENATE("L","000002")', "L000002")
    content = ledger_xlsx([row(1), [formula, *row(2)[1:]], [*row(3)[:4], ("f", "SUM(1,2)", 3)]])
    errors = read(content, "台账.xlsx").errors
    assert [(e.row, e.column) for e in errors] == [(3, "编号"), (4, "申请内容")]
    assert 'a formula (=CONCATENATE("L","000002"))' in errors[0].message
    assert "paste values only" in errors[0].message


def test_an_array_formula_is_refused() -> None:
    sheet = sheet_xml(numbered([HEADER, row(1)])).replace(
        "</row></sheetData>",
        '<c r="F2"><f t="array" ref="F2">SUM(A1:A2)</f><v>0</v></c></row></sheetData>',
    )
    errors = read(workbook(sheet), "台账.xlsx").errors
    assert [(e.row, e.column) for e in errors] == [(2, "column 6")]
    assert "formula" in errors[0].message


def test_csv_cells_starting_with_plus_minus_at_are_kept_as_text() -> None:
    header = [*HEADER, "申请人姓名", "联系电话", "获取信息方式"]
    values = [*row(1)[:4], "@市人社局 -2025年度 +补充", "张三", "+86 138 0000 0000", "-"]
    [kept] = read(csv_text([header, values]).encode(), "台账.csv").rows
    assert (kept.description, kept.phone, kept.requested_form) == (
        "@市人社局 -2025年度 +补充",
        "+86 138 0000 0000",
        "-",
    )
    for formula in ("=1+1", ' =HYPERLINK("http://x")', "=cmd|' /C calc'!A0"):
        [error] = read(csv_text([HEADER, [*row(1)[:4], formula]]).encode(), "台账.csv").errors
        assert (error.row, error.column) == (2, "申请内容") and "formula" in error.message


# ------------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_a_gbk_csv_reads_like_utf8(encoding: str) -> None:
    text = csv_text([HEADER, row(1)])
    [kept] = read(text.encode(encoding), "台账.csv").rows
    assert kept.description == "2024年度财政预算执行情况 1"


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
def test_excels_unicode_text_utf16_with_tabs_imports(bom: bytes) -> None:
    """Excel's "Unicode text" export: UTF-16 with a BOM, tab separated, saved as .txt."""
    text = csv_text([["某局2025年台账"], HEADER, row(1), row(2)], delimiter="\t")
    encoding = "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"
    result = read(bom + text.encode(encoding), "台账.txt")
    assert result.errors == []
    assert [(r.row, r.request_id) for r in result.rows] == [(3, "L000001"), (4, "L000002")]


def test_a_binary_file_renamed_csv_is_refused_by_what_it_is() -> None:
    noise = random.Random(6).randbytes(64 * 1024)
    error = refused(noise.replace(b"\0", b"\1"), "台账.csv")
    assert error.row == 0 and "neither UTF-8 nor GB18030" in error.message
    assert "NUL" in refused(noise + b"\0", "台账.csv").message
    assert "image" in refused(b"\x89PNG\r\n\x1a\n" + noise, "台账.csv").message
    assert "PDF" in refused(b"%PDF-1.7\n" + noise, "台账.csv").message
    assert "password" in refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + noise, "台账.xlsx").message


def test_a_truncated_or_corrupt_workbook_is_refused() -> None:
    whole = ledger_xlsx([row(i) for i in range(300)])
    for cut in (len(whole) // 2, len(whole) - 30, 40):
        error = refused(whole[:cut], "台账.xlsx")
        assert error.row == 0 and "not a readable .xlsx" in error.message, cut
    # The directory intact, the sheet's compressed data damaged.
    at = whole.index(b"xl/worksheets/sheet1.xml") + 200
    damaged = whole[:at] + bytes(b ^ 0x55 for b in whole[at : at + 400]) + whole[at + 400 :]
    error = refused(damaged, "台账.xlsx")
    assert error.row == 0 and ".xlsx" in error.message
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert "not an .xlsx workbook" in refused(other_zip.getvalue(), "台账.xlsx").message


# ------------------------------------------------------------------------------- bombs


def test_a_huge_declared_dimension_is_not_trusted() -> None:
    content = ledger_xlsx([row(1)], dimension="A1:XFD1048576")
    result = timed(content, "台账.xlsx", within=2)
    assert result.errors == [] and len(result.rows) == 1


def test_a_cell_on_the_last_row_of_the_sheet_is_refused_quickly() -> None:
    rows = [*numbered([HEADER, row(1)]), (1_048_576, [(1, "x")])]
    content = workbook(sheet_xml(rows, "A1:XFD1048576"))
    [error] = timed(content, "台账.xlsx", within=5).errors
    assert error.row == 0 and "empty ones included" in error.message


def test_cells_far_to_the_right_are_refused_or_passed_over_without_reading_each() -> None:
    far = 16_384  # column XFD, the last one
    styled = [(n, [*cells, (far, None)]) for n, cells in numbered([HEADER, *map(row, range(500))])]
    result = timed(workbook(sheet_xml(styled)), "台账.xlsx", within=10)
    assert result.errors == [] and len(result.rows) == 500
    stray = [(n, [*cells, (far, "x")]) for n, cells in numbered([HEADER, *map(row, range(3))])]
    [error] = timed(workbook(sheet_xml(stray)), "台账.xlsx", within=2).errors
    assert error.row == 1 and "beyond column 64" in error.message
    wide = csv_text([HEADER, row(1)]) + "L9," + "," * 1_000_000 + "x\r\n"
    [error] = timed(wide.encode(), "台账.csv", within=5).errors
    assert error.row == 3 and "beyond column 64" in error.message


def test_a_shared_strings_bomb_is_refused_before_it_is_read() -> None:
    strings = "<si><t>a</t></si>" * (ledger.MAX_SHARED_STRINGS // 16 + 1)
    shared = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{strings}</sst>"
    )
    content = workbook(sheet_xml(numbered([HEADER, row(1)])), shared)
    assert len(content) < 1_000_000
    error = timed(content, "台账.xlsx", within=3).errors[0]
    assert error.row == 0 and "too large" in error.message and "2,000 rows" in error.message


def test_an_entity_expansion_bomb_is_refused_before_parsing() -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "&lol;" * 10}">' for i in range(9)
        )
        + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol8;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    error = timed(workbook(laughs), "台账.xlsx", within=2).errors[0]
    assert error.row == 0 and "entities" in error.message


# ------------------------------------------------------------------------------- size


def test_100000_rows_are_refused_quickly_with_the_limit_and_what_to_do() -> None:
    rows = [row(i) for i in range(100_000)]
    csv_content = csv_text([HEADER, *rows]).encode()
    assert len(csv_content) < ledger.MAX_BYTES  # refused for its rows, not its bytes
    xlsx_content = ledger_xlsx(rows)
    for content, name in ((csv_content, "台账.csv"), (xlsx_content, "台账.xlsx")):
        [error] = timed(content, name, within=15).errors
        assert error.row == 0
        assert "more than 2,000 rows" in error.message and "split" in error.message


def test_exactly_the_limit_reads_whole() -> None:
    rows = [row(i) for i in range(ledger.MAX_ROWS)]
    for content, name in ((csv_text([HEADER, *rows]).encode(), "台账.csv"),
                          (ledger_xlsx(rows), "台账.xlsx")):  # fmt: skip
        result = timed(content, name, within=15)
        assert result.errors == [] and len(result.rows) == ledger.MAX_ROWS


# ------------------------------------------------------------------------------- headers and cells


def test_an_empty_file_and_a_header_only_file_say_so() -> None:
    for content in (b"", b"\xef\xbb\xbf", b"  \r\n\r\n"):
        error = refused(content, "台账.csv")
        assert error.row == 0 and "empty" in error.message
    error = refused(csv_text([HEADER]).encode(), "台账.csv")
    assert error.row == 2 and "no rows below its header" in error.message
    error = refused(ledger_xlsx([]), "台账.xlsx")
    assert error.row == 2 and "no rows below its header" in error.message


def test_duplicate_and_unknown_headers_are_named() -> None:
    header = [*HEADER, "申请内容", "Shoe size", "x" * 10_000]
    result = read(csv_text([header, [*row(1), "again", "42", "?"]]).encode(), "台账.csv")
    assert result.rows == []
    by_column = {e.column: e.message for e in result.errors}
    assert all(e.row == 1 for e in result.errors)
    assert "columns E and F" in by_column["申请内容"] and "delete one" in by_column["申请内容"]
    assert "unknown column" in by_column["Shoe size"]
    [long] = [c for c in by_column if c and c.startswith("xxx")]
    assert len(long) == 58  # cut, so the answer stays readable


def test_very_long_cells_are_row_errors() -> None:
    long = [*row(1)[:4], "长" * 4001]
    [error] = read(csv_text([HEADER, long, row(2)]).encode(), "台账.csv").errors
    assert (error.row, error.column) == (2, "申请内容") and "longer than 4000" in error.message
    huge = [*row(1)[:4], "x" * 200_000]  # past the csv module's field limit
    error = refused(csv_text([HEADER, row(0), huge]).encode(), "台账.csv")
    assert error.row == 3 and "longer than 131,072 characters" in error.message
    [error] = read(ledger_xlsx([row(1), [*row(2)[:4], "字" * 32_767]]), "台账.xlsx").errors
    assert (error.row, error.column) == (3, "申请内容")


def test_control_characters_are_named_and_nul_refuses_the_file() -> None:
    bell = [*row(1)[:4], "预算\x07执行"]
    [error] = read(csv_text([HEADER, row(0), bell]).encode(), "台账.csv").errors
    assert (error.row, error.column) == (3, "申请内容") and "U+0007" in error.message
    tabs = [*row(1)[:4], "预算\t执行\n情况"]  # tab and line break are text
    assert read(csv_text([HEADER, tabs]).encode(), "台账.csv").errors == []
    error = refused(csv_text([HEADER, [*row(1)[:4], "a\0b"]]).encode(), "台账.csv")
    assert error.row == 0 and "NUL" in error.message
    escaped = ledger_xlsx([[*row(1)[:4], "预算_x0001_执行"]])  # how XML carries U+0001
    [error] = read(escaped, "台账.xlsx").errors
    assert (error.row, error.column) == (2, "申请内容") and "U+0001" in error.message

"""台账导入: a ledger of historical requests (CSV or XLSX) read, checked row by row, and turned
into the commands a clerk would have entered live, each on its historical date.

Pure: no I/O besides reading the bytes it is given. `read_ledger` never raises for bad content;
every problem is a `RowError` with the row number the clerk sees in the file (the header is row
1; row 0 is the file as a whole). `plan` gives a row's commands in date order; the importer
(`importing.py`) runs them with the aggregate's own methods, so the events are those of live
entry.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from types import NoneType
from typing import Any

from gongkai_contracts import Event
from gongkai_contracts.vocabulary import (
    APPLICANT_CATEGORY_LABELS,
    CHANNEL_LABELS,
    REPLY_OUTCOME_LABELS,
    ApplicantCategory,
    Channel,
    ReplyOutcome,
)

from .domain.calendar import WorkingCalendar
from .domain.fees import FeeScheme
from .domain.request import RegisterRequest, Request

MAX_BYTES = 10 * 1024 * 1024  # the HTTP layer lets 20 MiB through for this route (multipart)
# Data rows per file, the header not counted. The import is one transaction holding the
# service's append lock from its first event to its commit (ADR 001): every live command of
# every bureau waits meanwhile. At about 10 ms a row (bench/README.md) 2,000 rows keep that
# wait near 20 s; a larger ledger is split into files (by date), each imported whole.
MAX_ROWS = 2_000
MAX_SCANNED_ROWS = (
    10 * MAX_ROWS
)  # rows read at all, empty ones included (a sheet styled to the end)
MAX_COLUMNS = 64  # the template has 27; cells further right are refused, never read one by one
MAX_XLSX_UNPACKED = 200 * 1024 * 1024  # a zip bomb is refused before it is opened
MAX_SHARED_STRINGS = 32 * 1024 * 1024  # read whole when the workbook opens (not streamed)
HEADER_SEARCH_ROWS = 5  # a title row (e.g. "某局2025年依申请公开台账") may sit above the header
REQUEST_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # the same ids the HTTP API takes
NOT_RECORDED = "（台账未记载）"  # 补正事项 of a ledger that did not keep them

# A clerk's numbering column and remarks are allowed and ignored.
IGNORED_HEADERS = {"序号", "备注", "row", "notes", "remarks"}


@dataclass(frozen=True)
class RowError:
    """One problem: the row as the clerk sees it (header = 1; 0 = the whole file), the column
    (its Chinese header) when one is to blame, and the reason."""

    row: int
    column: str | None
    message: str

    def detail(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "msg": self.message}


class LedgerRejected(Exception):
    """The ledger is refused as a whole; nothing of it was stored."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.row, e.column or ""))
        super().__init__(f"{len(self.errors)} problem(s), first: {self.errors[0]}")


# ---------------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    header: str  # the Chinese header of the template
    key: str  # the English key, accepted as a header too
    required: str  # 必填, or when it is needed
    values: str  # format and accepted values
    example: str | int | date  # the template's example row
    meaning: str


def _labels(labels: Mapping[Any, str]) -> str:
    return "、".join(f"{label}（{code.value}）" for code, label in labels.items())


FEE_SCHEME_LABELS = {FeeScheme.PER_ITEM: "按件", FeeScheme.PER_PAGE: "按量"}
PARTY_KIND_LABELS = {"third_party": "第三方", "agency": "行政机关"}

COLUMNS: tuple[Column, ...] = (
    Column(
        "编号",
        "request_id",
        "必填",
        "字母、数字、_ . -，最长64位；同一文件内不得重复",
        "2026-001",
        "申请的登记编号，本局内唯一",
    ),
    Column(
        "收到申请日期",
        "received_on",
        "必填",
        "日期",
        date(2026, 3, 3),
        "收到申请之日（条例 第三十一条），不早于2008-05-01，不晚于今天",
    ),
    Column("申请渠道", "channel", "必填", _labels(CHANNEL_LABELS), "信函", "申请渠道"),
    Column(
        "申请人类型",
        "applicant_category",
        "必填",
        _labels(APPLICANT_CATEGORY_LABELS),
        "自然人",
        "年报表三的申请人类型",
    ),
    Column(
        "申请人姓名",
        "applicant_name",
        "否",
        "文字",
        "张三",
        "申请人姓名或名称；只加密存于申请人名册，不进入事件",
    ),
    Column(
        "证件号码",
        "id_number",
        "否",
        "文字（请把列设为文本，Excel只保留15位数字）",
        "320402199001011234",
        "身份证号或统一社会信用代码；同一号码视为同一申请人",
    ),
    Column("联系电话", "phone", "否", "文字", "13800000000", "联系电话"),
    Column(
        "申请内容",
        "description",
        "必填",
        "文字",
        "2025年度事业单位公开招聘的录用名单",
        "所需政府信息的名称、文号或者便于查询的其他特征性描述",
    ),
    Column(
        "获取信息方式", "requested_form", "否", "文字", "电子邮件", "申请的获取信息的方式、途径"
    ),
    Column(
        "补正告知日期",
        "correction_notified_on",
        "有补正时必填",
        "日期",
        "",
        "发出补正告知书之日（第三十条）",
    ),
    Column(
        "补正事项",
        "correction_items",
        "否",
        "文字",
        "",
        f"需要补正的事项；留空记为“{NOT_RECORDED}”",
    ),
    Column(
        "补正期限", "correct_by", "有补正时必填", "日期，晚于补正告知日期", "", "告知的合理补正期限"
    ),
    Column(
        "补正收到日期",
        "correction_received_on",
        "否",
        "日期",
        "",
        "收到补正后申请之日，答复期限自此重新计算",
    ),
    Column(
        "征求意见开始日期",
        "consultation_started_on",
        "有征求意见时必填",
        "日期",
        "",
        "发出征求意见函之日，答复期限自次日起暂停",
    ),
    Column(
        "征求意见对象",
        "consultation_party",
        "有征求意见时必填",
        "文字",
        "",
        "被征求意见的第三方或机关",
    ),
    Column(
        "征求意见对象类型",
        "consultation_party_kind",
        "否",
        "第三方（third_party）、行政机关（agency）；留空为第三方",
        "",
        "第三方（第三十二条）或其他机关（第三十三条）",
    ),
    Column(
        "征求意见结束日期",
        "consultation_ended_on",
        "否",
        "日期",
        "",
        "收到意见（或期满）之日，次个工作日起恢复计算",
    ),
    Column(
        "延期工作日数",
        "extension_days",
        "有延期时必填",
        "整数；2019年5月15日后收到的最多20，之前15",
        "",
        "延长答复期限的工作日数",
    ),
    Column(
        "延期批准人",
        "extension_approved_by",
        "有延期时必填",
        "文字",
        "",
        "批准延期的工作机构负责人",
    ),
    Column(
        "延期告知日期",
        "extension_notified_on",
        "有延期时必填",
        "日期，不晚于原答复期限",
        "",
        "告知申请人延期之日",
    ),
    Column(
        "收费方式",
        "fee_scheme",
        "有收费时必填",
        _labels(FEE_SCHEME_LABELS),
        "",
        "信息处理费的计收方式（国办函〔2020〕109号）",
    ),
    Column(
        "收费数量",
        "fee_units",
        "有收费时必填",
        "整数：件数或页数",
        "",
        "按件为件数，按量为页数；在免费额度内的不收费，不应填写",
    ),
    Column("收费通知日期", "fee_noticed_on", "有收费时必填", "日期", "", "发出收费通知之日"),
    Column("缴费日期", "fee_paid_on", "否", "日期", "", "申请人缴费之日"),
    Column(
        "答复结果",
        "outcome",
        "已答复时必填",
        "年报表三“本年度办理结果”的选项，带或不带序号均可（如“（一）予以公开”或“予以公开”），"
        "或其代码（如 disclosed）；“逾期不补正”“逾期未缴费”两项记为相应的终止",
        "（一）予以公开",
        "办理结果",
    ),
    Column(
        "法律依据",
        "legal_basis",
        "已答复时必填（逾期不补正、逾期未缴费除外）",
        "文字",
        "条例 第三十六条 第二项",
        "答复所依据的条款",
    ),
    Column(
        "答复日期",
        "replied_on",
        "已答复时必填",
        "日期",
        date(2026, 3, 20),
        "答复书送出之日；逾期不补正、逾期未缴费的，为不再处理之日",
    ),
    Column(
        "撤回日期", "withdrawn_on", "否", "日期；填写后答复日期须留空", "", "申请人撤回申请之日"
    ),
)

BY_HEADER = {c.header: c for c in COLUMNS}
DATE_COLUMNS = {
    "收到申请日期",
    "补正告知日期",
    "补正期限",
    "补正收到日期",
    "征求意见开始日期",
    "征求意见结束日期",
    "延期告知日期",
    "收费通知日期",
    "缴费日期",
    "答复日期",
    "撤回日期",
}
REQUIRED = ("编号", "收到申请日期", "申请渠道", "申请人类型", "申请内容")


def _norm(text: str) -> str:
    """Full-width to half-width, no spaces or quotes, lower case: how labels are compared."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s\"'“”‘’「」]", "", text).lower()


_PREFIX = re.compile(r"^(\([一二三四五六七八九十]+\)|\d+[.、．])")
_NOTE = re.compile(r"\(.*\)$")


def _header_key(text: str) -> str:
    """A header as written: '收到申请日期（YYYY-MM-DD）*' and 'Received_On' are accepted."""
    return _NOTE.sub("", _norm(text).rstrip("*")).rstrip("*")


HEADERS: dict[str, str] = {}
for _c in COLUMNS:
    HEADERS[_header_key(_c.header)] = _c.header
    HEADERS[_header_key(_c.key)] = _c.header


def _lookup(labels: Mapping[Any, str], *extra: tuple[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for code, label in labels.items():
        table[_norm(label)] = code
        table[_norm(code.value)] = code
    for text, code in extra:
        table[_norm(text)] = code
    return table


CHANNELS: dict[str, Channel] = _lookup(CHANNEL_LABELS)
CATEGORIES: dict[str, ApplicantCategory] = _lookup(APPLICANT_CATEGORY_LABELS)
FEE_SCHEMES: dict[str, FeeScheme] = _lookup(
    FEE_SCHEME_LABELS, ("按件计收", FeeScheme.PER_ITEM), ("按量计收", FeeScheme.PER_PAGE)
)
PARTY_KINDS = {_norm(v): k == "third_party" for k, v in PARTY_KIND_LABELS.items()} | {
    "third_party": True,
    "agency": False,
}


def _outcomes() -> dict[str, ReplyOutcome]:
    table: dict[str, ReplyOutcome] = {}
    for outcome, label in REPLY_OUTCOME_LABELS.items():
        full = _norm(label)
        bare = _PREFIX.sub("", full)
        short = _NOTE.sub("", bare)  # 部分公开（区分处理的，只计这一情形…） → 部分公开
        for key in {full, bare, short, outcome.value}:
            if table.get(key, outcome) is not outcome:
                raise AssertionError(f"label {key!r} names two outcomes")
            table[key] = outcome
    return table


OUTCOMES = _outcomes()


# ---------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class LedgerRow:
    """One valid row, typed."""

    row: int
    request_id: str
    received_on: date
    channel: Channel
    applicant_category: ApplicantCategory
    description: str
    applicant_name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    requested_form: str | None = None
    correction_notified_on: date | None = None
    correction_items: str | None = None
    correct_by: date | None = None
    correction_received_on: date | None = None
    consultation_started_on: date | None = None
    consultation_party: str | None = None
    consultation_third_party: bool = True
    consultation_ended_on: date | None = None
    extension_days: int | None = None
    extension_approved_by: str | None = None
    extension_notified_on: date | None = None
    fee_scheme: FeeScheme | None = None
    fee_units: int | None = None
    fee_noticed_on: date | None = None
    fee_paid_on: date | None = None
    outcome: ReplyOutcome | None = None
    legal_basis: str | None = None
    replied_on: date | None = None
    withdrawn_on: date | None = None

    def registration(self, bureau_id: str) -> RegisterRequest:
        return RegisterRequest(
            bureau_id=bureau_id,
            request_id=self.request_id,
            channel=self.channel,
            applicant_category=self.applicant_category,
            applicant_ref="",  # given by the applicant register
            received_on=self.received_on,
            description=self.description,
            requested_form=self.requested_form,
        )


@dataclass(frozen=True)
class Ledger:
    sha256: str
    rows: list[LedgerRow]
    errors: list[RowError]
    data_rows: int = 0  # non-empty rows below the header, valid or not


Cell = str | int | float | date | datetime | dt_time | timedelta | None
Record = tuple[int, list[tuple[Cell, bool]]]  # (row number, [(value, is a formula)])


class _FileError(Exception):
    """The file as a whole is refused (unreadable, too large, a bad header)."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(errors[0].message)
        self.errors = errors


def _refuse(row: int, message: str, column: str | None = None) -> _FileError:
    return _FileError([RowError(row, column, message)])


def read_ledger(content: bytes, filename: str, *, today: date) -> Ledger:
    """Read and check every row: the valid rows and every problem found. Never raises for bad
    content; a file-level problem is the only error then (row 0, or the header's row)."""
    sha = hashlib.sha256(content).hexdigest()
    try:
        if len(content) > MAX_BYTES:
            raise _refuse(
                0,
                f"the file has {len(content):,} bytes; at most {MAX_BYTES:,} (10 MB): "
                f"split the ledger into files of at most {MAX_ROWS:,} rows",
            )
        if not content.strip():
            raise _refuse(
                0, "the file is empty: start from the template (GET /ledger-template.xlsx)"
            )
        return _read_rows(sha, _records(content, filename), today)
    except _FileError as exc:
        return Ledger(sha, [], exc.errors)


# What a file that is not a ledger starts with, and what to tell the clerk.
_NOT_A_LEDGER = (
    (b"\xd0\xcf\x11\xe0", "an old .xls workbook or a password-protected one: save it as .xlsx "
     "without a password, or as CSV UTF-8"),
    (b"%PDF", "a PDF document, not a spreadsheet: upload the ledger as .xlsx or .csv"),
    (b"\x89PNG", "an image, not a spreadsheet: upload the ledger as .xlsx or .csv"),
    (b"\xff\xd8\xff", "an image, not a spreadsheet: upload the ledger as .xlsx or .csv"),
    (b"GIF8", "an image, not a spreadsheet: upload the ledger as .xlsx or .csv"),
    (b"\x1f\x8b", "a compressed (gzip) file: unpack it and upload the .xlsx or .csv inside"),
    (b"Rar!", "a RAR archive: unpack it and upload the .xlsx or .csv inside"),
    (b"7z\xbc\xaf", "a 7-Zip archive: unpack it and upload the .xlsx or .csv inside"),
)  # fmt: skip
_TEXT_SUFFIXES = (".csv", ".txt", ".tsv")  # .txt: Excel's "Unicode text" (UTF-16, tabs)


def _records(content: bytes, filename: str) -> Iterator[Record]:
    name = filename.lower()
    if content.startswith(b"PK\x03\x04"):
        return _xlsx_records(content)
    for magic, message in _NOT_A_LEDGER:
        if content.startswith(magic):
            raise _refuse(0, message)
    if name.endswith(".xlsx"):
        raise _refuse(0, "not a readable .xlsx file (it is not a zip archive): save it again")
    if not name.endswith(_TEXT_SUFFIXES):
        raise _refuse(0, "upload a .csv or .xlsx file (download the template to start)")
    return _csv_records(content)


def _decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with its BOM (Excel's "Unicode text"), GB18030
    (GBK's superset, what Excel and WPS write as "CSV" on a Chinese Windows)."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _refuse(0, "UTF-16 text that does not decode: save it as CSV UTF-8") from exc
    if b"\x00" in content:
        raise _refuse(
            0, "binary content (NUL bytes), or UTF-16 without a BOM: save the file as CSV UTF-8"
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refuse(0, "the file is neither UTF-8 nor GB18030 (GBK) text: save it as CSV UTF-8")


def _csv_records(content: bytes) -> Iterator[Record]:
    text = _decode(content)
    if not text.strip():
        raise _refuse(0, "the file is empty: start from the template (GET /ledger-template.csv)")
    if "\x00" in text:
        raise _refuse(0, "binary content (NUL characters): save the file as CSV UTF-8")
    sample = "\n".join(text.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS])
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    return _csv_rows(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _csv_rows(reader: Iterator[list[str]]) -> Iterator[Record]:
    number = 0
    try:
        for record in reader:
            number += 1
            values = _within_columns(number, record)
            # A CSV cell starting with "=" is a formula to Excel. "+ - @" stay text: see the
            # README (they are phone numbers and dashes in ledgers, and never written back).
            yield number, [(value, value.strip().startswith("=")) for value in values]
    except csv.Error as exc:
        raise _refuse(
            number + 1,
            f"not readable as CSV ({exc}): a cell longer than {csv.field_size_limit():,} "
            'characters or a quote (") that never closes',
        ) from exc


def column_letter(index: int) -> str:
    """1 → A, 27 → AA: how Excel names a column."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _within_columns(number: int, values: Sequence[Any]) -> Sequence[Any]:
    """The row cut to MAX_COLUMNS; a value further right refuses the file (counted in C, so a
    row 16,384 cells wide costs no more than a short one)."""
    if len(values) <= MAX_COLUMNS:
        return values
    tail = list(values[MAX_COLUMNS:])
    if tail.count(None) + tail.count("") != len(tail):
        raise _refuse(
            number,
            f"a value beyond column {MAX_COLUMNS} ({column_letter(MAX_COLUMNS)}), far right "
            "of the ledger's columns: delete the stray cells",
        )
    return values[:MAX_COLUMNS]


def _xlsx_records(content: bytes) -> Iterator[Record]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            # Declared sizes bound what is unpacked: zipfile stops reading a member there.
            sizes = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise _refuse(
            0, f"not a readable .xlsx file (a damaged zip: {exc}): save it again"
        ) from exc
    unpacked = sum(sizes.values())
    if unpacked > MAX_XLSX_UNPACKED:
        raise _refuse(
            0,
            f"the workbook unpacks to {unpacked:,} bytes: too large "
            f"(at most {MAX_XLSX_UNPACKED:,}); "
            f"split the ledger into files of at most {MAX_ROWS:,} rows",
        )
    shared = sum(size for name, size in sizes.items() if name.lower().endswith("sharedstrings.xml"))
    if shared > MAX_SHARED_STRINGS:
        raise _refuse(
            0,
            f"the workbook's text takes {shared:,} bytes: too large "
            f"(at most {MAX_SHARED_STRINGS:,}); "
            f"split the ledger into files of at most {MAX_ROWS:,} rows",
        )
    if not any(name.lower().endswith("workbook.xml") for name in sizes):
        raise _refuse(
            0, "a zip archive that is not an .xlsx workbook: save the ledger from Excel or WPS "
            "as .xlsx (an .ods or .docx is not read)"
        )  # fmt: skip
    _no_entities(content, sizes)
    import openpyxl  # type: ignore[import-untyped]  # only when a workbook arrives

    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(content), read_only=True, data_only=False, keep_links=False
        )
    except Exception as exc:  # openpyxl raises many kinds of error for a damaged file
        raise _refuse(
            0, f"not a readable .xlsx file ({type(exc).__name__}): save it again"
        ) from exc
    return _xlsx_rows(workbook)


def _no_entities(content: bytes, sizes: Mapping[str, int]) -> None:
    """OOXML never declares a DTD; one that does is an entity-expansion bomb ("billion
    laughs") or worse, refused before any XML parser sees it."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in sizes:
            if not name.lower().endswith((".xml", ".rels")):
                continue
            try:
                with archive.open(name) as member:
                    start = member.read(4096)
            except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, OSError) as exc:
                raise _refuse(0, f"not a readable .xlsx file (damaged part {name[:80]})") from exc
            if b"<!DOCTYPE" in start.upper() or b"<!ENTITY" in start.upper():
                raise _refuse(0, f"an .xlsx part declaring XML entities ({name[:80]}): refused")


_VALUES = (str, int, float, date, datetime, dt_time, timedelta, NoneType)  # bool is an int


def _xlsx_rows(workbook: Any) -> Iterator[Record]:
    try:
        sheet = workbook.worksheets[0]  # the ledger; the template's second sheet explains it
        # The declared size (<dimension ref="A1:XFD1048576">) is not trusted: openpyxl would
        # pad every row to it. Rows then come as wide as their last cell.
        sheet.reset_dimensions()
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            values: list[tuple[Cell, bool]] = []
            for value in _within_columns(number, cells):
                # Formula cells read as "=…" (data_only=False) or, for array and data-table
                # formulas, as openpyxl objects: both are refused, not their cached values.
                formula = not isinstance(value, _VALUES) or (
                    isinstance(value, str) and value.startswith("=")
                )
                values.append((str(value) if formula else value, formula))
            yield number, values
    except _FileError:
        raise
    except Exception as exc:
        raise _refuse(0, f"not a readable .xlsx file ({type(exc).__name__}: {exc})"[:300]) from exc
    finally:
        workbook.close()


# C0 controls but tab, line feed and carriage return, and DEL: invisible, and they break the
# XML and JSON a request's text ends up in. A workbook stores them escaped (`_x0007_`).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|_x00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])_"
)


def _control(value: Cell) -> str | None:
    """A message for text holding a control character, else None."""
    if isinstance(value, str) and (found := _CONTROL.search(value)):
        text = found.group()
        code = ord(text) if len(text) == 1 else int(text[2:6], 16)
        return (
            f"a control character (U+{code:04X}) at position {found.start() + 1}: delete it "
            "(it often comes from copying out of another system)"
        )
    return None


def _blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _names_columns(cells: list[tuple[Cell, bool]]) -> bool:
    known = [v for v, _ in cells if not _blank(v) and _header_key(str(v)) in HEADERS]
    return len(known) >= 3


@dataclass(frozen=True)
class _Position:
    written: str | None  # the header as written; None for a column without one
    header: str | None  # the column it names; None when ignored


def _header(number: int, cells: list[tuple[Cell, bool]]) -> list[_Position]:
    errors: list[RowError] = []
    positions: list[_Position] = []
    seen: dict[str, int] = {}
    for index, (value, _) in enumerate(cells, start=1):
        if _blank(value):
            positions.append(_Position(None, None))
            continue
        written = str(value).strip()
        key = _header_key(written)
        written = written if len(written) <= 60 else written[:57] + "…"
        header = HEADERS.get(key)
        if header is None and key not in IGNORED_HEADERS:
            errors.append(
                RowError(
                    number,
                    written,
                    "unknown column: use the template's headers (Chinese) or their English keys, "
                    "or delete the column",
                )
            )
        elif header is not None and header in seen:
            errors.append(
                RowError(
                    number,
                    header,
                    f"the column is there twice (columns {column_letter(seen[header])} and "
                    f"{column_letter(index)}): delete one of them",
                )
            )
            header = None
        elif header is not None:
            seen[header] = index
        positions.append(_Position(written, header))
    errors += [RowError(number, h, "required column missing") for h in REQUIRED if h not in seen]
    if errors:
        raise _FileError(errors)
    return positions


def _read_rows(sha: str, records: Iterator[Record], today: date) -> Ledger:
    positions: list[_Position] | None = None
    header_row = 0
    rows: list[LedgerRow] = []
    errors: list[RowError] = []
    ids: dict[str, int] = {}
    data_rows = 0
    no_header = _refuse(
        1, f"no header row: the first row names the columns ({'、'.join(REQUIRED)}, …)"
    )
    for number, cells in records:
        if number > MAX_SCANNED_ROWS:
            raise _refuse(
                0,
                f"the sheet has more than {MAX_SCANNED_ROWS:,} rows, empty ones included: "
                "delete the empty rows at its end",
            )
        if positions is None:
            if _names_columns(cells):
                positions, header_row = _header(number, cells), number
            elif number >= HEADER_SEARCH_ROWS:
                raise no_header
            continue  # a title row above the header, or blank
        if all(_blank(v) for v, _ in cells):
            continue
        data_rows += 1
        if data_rows > MAX_ROWS:
            raise _refuse(
                0,
                f"more than {MAX_ROWS:,} rows: a file takes at most {MAX_ROWS:,}; split the "
                f"ledger into files of at most {MAX_ROWS:,} rows (by date of receipt) and "
                "import them one after the other",
            )
        row, row_errors = _row(number, positions, cells, today)
        errors += row_errors
        if row is None:
            continue
        if row.request_id in ids:
            errors.append(
                RowError(number, "编号", f"{row.request_id} is on row {ids[row.request_id]} too")
            )
            continue
        ids[row.request_id] = number
        rows.append(row)
    if positions is None:
        raise no_header
    if data_rows == 0:
        raise _refuse(header_row + 1, "the ledger has no rows below its header")
    return Ledger(sha, rows, errors, data_rows)


class _Reader:
    """The cells of one row by header, each parsed at most once; problems collected."""

    def __init__(self, number: int, values: dict[str, Cell], today: date) -> None:
        self.number = number
        self.values = values
        self.today = today
        self.errors: list[RowError] = []

    def fail(self, header: str | None, message: str) -> None:
        self.errors.append(RowError(self.number, header, message))

    def given(self, header: str) -> bool:
        return not _blank(self.values.get(header))

    def text(self, header: str, *, required: bool = False, limit: int = 4000) -> str | None:
        value = self.values.get(header)
        if _blank(value):
            if required:
                self.fail(header, "required")
            return None
        if header == "证件号码" and isinstance(value, int | float) and abs(value) >= 10**15:
            self.fail(header, "a number Excel keeps to 15 digits only: store the column as text")
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, datetime | date):
            self.fail(header, "a date where text is expected")
            return None
        text = str(value).strip()
        if len(text) > limit:
            self.fail(header, f"longer than {limit} characters")
            return None
        return text

    def day(self, header: str, *, required: bool = False) -> date | None:
        value = self.values.get(header)
        if _blank(value):
            if required:
                self.fail(header, "required")
            return None
        day = _date(value)
        if day is None:
            self.fail(header, f"{value!s} is not a date (YYYY-MM-DD, e.g. 2026-03-03)")
        elif day > self.today:
            self.fail(header, f"{day} is in the future: a ledger records what happened")
            return None
        return day

    def integer(self, header: str, *, minimum: int, maximum: int) -> int | None:
        value = self.values.get(header)
        if _blank(value):
            return None
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and re.fullmatch(r"\s*\d{1,9}\s*", _norm(value) or "x"):
            number = int(_norm(value))
        if number is None:
            self.fail(header, f"{value!s} is not a whole number")
        elif not minimum <= number <= maximum:
            self.fail(header, f"{number} is not between {minimum} and {maximum}")
            number = None
        return number

    def choice(self, header: str, table: Mapping[str, Any], *, required: bool = False) -> Any:
        value = self.values.get(header)
        if _blank(value):
            if required:
                self.fail(header, "required")
            return None
        found = table.get(_norm(str(value)))
        if found is None:
            column = BY_HEADER[header]
            self.fail(header, f"{str(value).strip()} is not one of: {column.values}")
        return found


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


def _date(value: Cell) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 2_958_466:  # Excel serial days: 1900-01-01 … 9999-12-31
            return None
        from openpyxl.utils.datetime import from_excel  # type: ignore[import-untyped]

        converted = from_excel(value)
        return converted.date() if isinstance(converted, datetime) else None
    if isinstance(value, str):
        match = _DATE.match(unicodedata.normalize("NFKC", value).strip())
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return None
    return None


def _row(
    number: int, positions: list[_Position], cells: list[tuple[Cell, bool]], today: date
) -> tuple[LedgerRow | None, list[RowError]]:
    values: dict[str, Cell] = {}
    reader = _Reader(number, values, today)
    for index, (value, formula) in enumerate(cells):
        position = positions[index] if index < len(positions) else _Position(None, None)
        if _blank(value):
            continue
        where = position.written or f"column {index + 1}"
        if formula:
            reader.fail(
                where,
                f"a formula ({str(value)[:40]}): paste values only (copy the cells, then "
                "Paste Special → Values), or type the value itself",
            )
        elif problem := _control(value):
            reader.fail(where, problem)
        elif position.written is None:
            reader.fail(where, "a value in a column without a header")
        elif position.header is not None:
            values[position.header] = value
    if reader.errors:
        return None, reader.errors

    request_id = reader.text("编号", required=True)
    if request_id is not None and not REQUEST_ID.match(request_id):
        reader.fail("编号", f"{request_id}: only letters, digits, _ . - and at most 64 of them")
    received_on = reader.day("收到申请日期", required=True)
    channel = reader.choice("申请渠道", CHANNELS, required=True)
    category = reader.choice("申请人类型", CATEGORIES, required=True)
    description = reader.text("申请内容", required=True)
    fields: dict[str, Any] = {
        "applicant_name": reader.text("申请人姓名", limit=200),
        "id_number": reader.text("证件号码", limit=40),
        "phone": reader.text("联系电话", limit=40),
        "requested_form": reader.text("获取信息方式", limit=200),
        "correction_notified_on": reader.day("补正告知日期"),
        "correction_items": reader.text("补正事项", limit=2000),
        "correct_by": reader.day("补正期限"),
        "correction_received_on": reader.day("补正收到日期"),
        "consultation_started_on": reader.day("征求意见开始日期"),
        "consultation_party": reader.text("征求意见对象", limit=200),
        "consultation_ended_on": reader.day("征求意见结束日期"),
        "extension_days": reader.integer("延期工作日数", minimum=1, maximum=99),
        "extension_approved_by": reader.text("延期批准人", limit=100),
        "extension_notified_on": reader.day("延期告知日期"),
        "fee_scheme": reader.choice("收费方式", FEE_SCHEMES),
        "fee_units": reader.integer("收费数量", minimum=1, maximum=100_000),
        "fee_noticed_on": reader.day("收费通知日期"),
        "fee_paid_on": reader.day("缴费日期"),
        "outcome": reader.choice("答复结果", OUTCOMES),
        "legal_basis": reader.text("法律依据", limit=1000),
        "replied_on": reader.day("答复日期"),
        "withdrawn_on": reader.day("撤回日期"),
    }
    third_party = reader.choice("征求意见对象类型", PARTY_KINDS)
    _together(reader, "补正", ("补正告知日期", "补正期限"), ("补正事项", "补正收到日期"))
    _together(reader, "征求意见", ("征求意见开始日期", "征求意见对象"),
              ("征求意见对象类型", "征求意见结束日期"))  # fmt: skip
    _together(reader, "延期", ("延期工作日数", "延期批准人", "延期告知日期"), ())
    _together(reader, "收费", ("收费方式", "收费数量", "收费通知日期"), ("缴费日期",))
    _ending(reader, fields)
    if not reader.given("申请人姓名"):
        for header in ("证件号码", "联系电话"):
            if reader.given(header):
                reader.fail("申请人姓名", f"required with {header}")
                break
    if reader.errors:
        return None, reader.errors
    assert request_id and received_on and channel and category and description
    row = LedgerRow(
        row=number,
        request_id=request_id,
        received_on=received_on,
        channel=channel,
        applicant_category=category,
        description=description,
        consultation_third_party=True if third_party is None else bool(third_party),
        **fields,
    )
    return row, []


def _together(
    reader: _Reader, what: str, needed: tuple[str, ...], optional: tuple[str, ...]
) -> None:
    """A stage's columns: the needed ones all or none; the optional ones only with them."""
    given = [h for h in needed if reader.given(h)]
    if given and len(given) < len(needed):
        for header in needed:
            if not reader.given(header):
                reader.fail(header, f"required for {what} (with {'、'.join(given)})")
    if not given:
        for header in optional:
            if reader.given(header):
                reader.fail(header, f"{what}: fill in {'、'.join(needed)} too")


LAPSES = {ReplyOutcome.OTHER_CORRECTION_LAPSED, ReplyOutcome.OTHER_FEE_LAPSED}


def _ending(reader: _Reader, fields: Mapping[str, Any]) -> None:
    """How the request ended: a reply (or a lapse) on 答复日期, a withdrawal, or not yet."""
    outcome: ReplyOutcome | None = fields["outcome"]
    if reader.given("撤回日期"):
        if reader.given("答复日期"):
            reader.fail("撤回日期", "a withdrawn request has no 答复日期: leave one of them empty")
        if outcome not in (None, ReplyOutcome.OTHER):
            reader.fail("答复结果", "a withdrawal counts as 3.其他: leave 答复结果 empty")
        if reader.given("法律依据"):
            reader.fail("法律依据", "a withdrawal has no legal basis: leave it empty")
        return
    if reader.given("答复结果") and not reader.given("答复日期"):
        reader.fail("答复日期", "required with 答复结果")
    if reader.given("答复日期") and not reader.given("答复结果"):
        reader.fail("答复结果", "required with 答复日期")
    if outcome is None:
        if reader.given("法律依据") and not reader.given("答复结果"):
            reader.fail("法律依据", "only with 答复结果")
        return
    if outcome in LAPSES:
        if reader.given("法律依据"):
            reader.fail("法律依据", "a lapse (不再处理) is recorded without a legal basis")
    elif not reader.given("法律依据"):
        reader.fail("法律依据", "required with 答复结果 (the article the reply relies on)")


# ---------------------------------------------------------------------------------- commands

Command = Callable[[Request, WorkingCalendar, int], list[Event]]
"""Decides one command on the current state; the int is the number of the applicant's earlier
requests in the same natural month (for a 按件 fee; 0 for every other command)."""


@dataclass(frozen=True)
class Step:
    """One thing that happened to the request, on its day: one command, or for a reply the
    three of live entry (draft, the review's approval, sending) that belong together."""

    kind: str
    on: date
    column: str  # blamed when the step is refused
    commands: tuple[Command, ...]
    fields: Mapping[str, str] = field(default_factory=dict)  # DomainError.field → column
    month_count: bool = False  # needs the applicant's earlier requests this month

    def column_of(self, domain_field: str) -> str:
        return self.fields.get(domain_field, self.column)


# Same-day steps keep this order (the clock's natural one).
STEP_ORDER = (
    "correction_requested",
    "correction_received",
    "consultation_started",
    "consultation_ended",
    "deadline_extended",
    "fee_noticed",
    "fee_paid",
    "replied",
    "correction_lapsed",
    "fee_lapsed",
    "withdrawn",
)

REGISTRATION_FIELDS = {
    "received_on": "收到申请日期",
    "description": "申请内容",
    "request_id": "编号",
    "channel": "申请渠道",
}


def review_case_id(file_sha256: str, row: int) -> str:
    """The review of a historical reply happened outside the system; its approval names the
    ledger file and row instead of a review case."""
    return f"ledger:{file_sha256[:12]}:row{row}"


def draft_id(bureau_id: str, request_id: str) -> str:
    """The historical reply's draft: one per request, the same in every import of it."""
    digest = hashlib.sha256(f"{bureau_id}\n{request_id}".encode()).hexdigest()
    return f"ledger-{digest[:24]}"


def plan(row: LedgerRow, *, bureau_id: str, file_sha256: str) -> list[Step]:
    """The commands after registration, in date order (same-day ones in STEP_ORDER)."""
    steps: list[Step] = []
    if row.correction_notified_on and row.correct_by:
        notified, by = row.correction_notified_on, row.correct_by
        items = row.correction_items or NOT_RECORDED
        steps.append(
            Step(
                "correction_requested",
                notified,
                "补正告知日期",
                (lambda s, c, _: s.request_correction(notified, by, items, c),),
                {"correct_by": "补正期限"},
            )
        )
    if row.correction_received_on:
        corrected = row.correction_received_on
        steps.append(
            Step(
                "correction_received",
                corrected,
                "补正收到日期",
                (lambda s, c, _: s.receive_correction(corrected, c),),
            )
        )
    if row.consultation_started_on and row.consultation_party:
        started, party = row.consultation_started_on, row.consultation_party
        third = row.consultation_third_party
        steps.append(
            Step(
                "consultation_started",
                started,
                "征求意见开始日期",
                (lambda s, c, _: s.start_consultation(started, party, third, c),),
            )
        )
    if row.consultation_ended_on:
        ended = row.consultation_ended_on
        steps.append(
            Step(
                "consultation_ended",
                ended,
                "征求意见结束日期",
                (lambda s, c, _: s.end_consultation(ended, c),),
            )
        )
    if row.extension_days and row.extension_approved_by and row.extension_notified_on:
        days, approver = row.extension_days, row.extension_approved_by
        extended = row.extension_notified_on
        steps.append(
            Step(
                "deadline_extended",
                extended,
                "延期告知日期",
                (lambda s, c, _: s.extend(days, approver, extended, c),),
                {"working_days": "延期工作日数"},
            )
        )
    if row.fee_scheme and row.fee_units and row.fee_noticed_on:
        scheme, units, noticed = row.fee_scheme, row.fee_units, row.fee_noticed_on
        steps.append(
            Step(
                "fee_noticed",
                noticed,
                "收费通知日期",
                (lambda s, c, before: s.notice_fee(scheme, units, before, noticed, c),),
                {"units": "收费数量"},
                month_count=scheme is FeeScheme.PER_ITEM,
            )
        )
    if row.fee_paid_on:
        paid = row.fee_paid_on
        steps.append(Step("fee_paid", paid, "缴费日期", (lambda s, c, _: s.pay_fee(paid, c),)))
    steps += _ending_steps(row, bureau_id, file_sha256)
    return sorted(steps, key=lambda s: (s.on, STEP_ORDER.index(s.kind)))


def _ending_steps(row: LedgerRow, bureau_id: str, file_sha256: str) -> list[Step]:
    if row.withdrawn_on:
        withdrawn = row.withdrawn_on
        return [Step("withdrawn", withdrawn, "撤回日期", (lambda s, c, _: s.withdraw(withdrawn),))]
    if row.outcome is None or row.replied_on is None:
        return []  # still open
    on = row.replied_on
    if row.outcome is ReplyOutcome.OTHER_CORRECTION_LAPSED:
        by = row.correct_by
        return [
            Step(
                "correction_lapsed",
                on,
                "答复日期",
                (lambda s, c, _: s.lapse_correction(on, by),),
            )
        ]
    if row.outcome is ReplyOutcome.OTHER_FEE_LAPSED:
        return [Step("fee_lapsed", on, "答复日期", (lambda s, c, _: s.lapse_fee(on),))]
    draft = draft_id(bureau_id, row.request_id)
    case = review_case_id(file_sha256, row.row)
    outcome, basis = row.outcome, row.legal_basis or ""
    return [
        Step(
            "replied",
            on,
            "答复日期",
            (
                lambda s, c, _: s.draft_reply(draft, outcome, basis, "", reviewed_elsewhere=case),
                lambda s, c, _: s.approve_draft(draft, case),
                lambda s, c, _: s.send_reply(on),
            ),
            {"outcome": "答复结果", "legal_basis": "法律依据"},
        )
    ]


# ---------------------------------------------------------------------------------- templates


def _example(column: Column) -> str:
    value = column.example
    return value.isoformat() if isinstance(value, date) else str(value)


def template_csv() -> bytes:
    """The header and one example row, UTF-8 with a BOM (Excel then opens it right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS])
    writer.writerow([_example(c) for c in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


GUIDE_NOTES = (
    "日期写作 YYYY-MM-DD（如 2026-03-03），也可用 2026/3/3 或 Excel 日期格式；不得晚于今天。",
    "表头可用中文列名或英文键（如 received_on）；可另加“序号”“备注”列，导入时忽略。",
    "一行一件申请，各环节按日期先后执行，与逐件登记产生相同的记录；办理中的申请可不填答复。",
    "整个文件要么全部导入，要么全部不导入：出错时列出每一行的行号和原因，什么也不保存。",
    "同一文件重复导入不会重复登记；已导入的申请再次出现时跳过，新增的环节接着记录。",
    "不接受公式：请粘贴为数值。每个文件不超过 10 MB、2,000 行；更多的按收到日期分成几个文件导入。",
    "历史答复的保密审查在系统外完成，导入时记为台账审查（review_case_id 以 ledger: 开头）。",
)


def template_xlsx() -> bytes:
    """The ledger sheet (header and an example) and a sheet explaining every column."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "台账"
    sheet.append([c.header for c in COLUMNS])
    sheet.append([c.example if c.example != "" else None for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        head = sheet.cell(row=1, column=index)
        head.font = Font(bold=True)
        example = sheet.cell(row=2, column=index)
        if column.header in DATE_COLUMNS:
            example.number_format = "yyyy-mm-dd"
        elif column.header in ("编号", "证件号码", "联系电话"):
            example.number_format = "@"
        letter = head.column_letter
        sheet.column_dimensions[letter].width = max(12, 2 * len(column.header) + 4)
    sheet.freeze_panes = "A2"

    guide = workbook.create_sheet("填写说明")
    guide.append(["列名", "英文键", "是否必填", "格式与可选值", "说明", "示例"])
    for column in COLUMNS:
        guide.append(
            [column.header, column.key, column.required, column.values, column.meaning,
             _example(column)]
        )  # fmt: skip
    guide.append([])
    for note in GUIDE_NOTES:
        guide.append([note])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEF", (18, 26, 22, 60, 50, 24), strict=True):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2, max_row=len(COLUMNS) + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()

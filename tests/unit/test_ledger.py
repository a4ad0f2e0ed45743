"""台账导入, reading and checking: encodings, labels, row-numbered errors, formulas and
oversize files refused, and each row's commands in date order."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest

from gongkai_contracts import Event
from gongkai_contracts.events import ReplyDraftApproved, ReplySent
from gongkai_contracts.vocabulary import (
    REPLY_OUTCOME_LABELS,
    ApplicantCategory,
    Channel,
    ReplyOutcome,
)
from requests_service import ledger
from requests_service.domain.calendar import WorkingCalendar
from requests_service.domain.fees import FeeScheme
from requests_service.domain.request import Request, apply, register
from requests_service.ledger import (
    COLUMNS,
    Ledger,
    LedgerRow,
    RowError,
    plan,
    read_ledger,
    review_case_id,
    template_csv,
    template_xlsx,
)

TODAY = date(2026, 11, 27)
CALENDAR = WorkingCalendar()
BASE = {
    "编号": "2026-001",
    "收到申请日期": "2026-03-03",
    "申请渠道": "信函",
    "申请人类型": "自然人",
    "申请内容": "2025年度事业单位公开招聘的录用名单",
}


def csv_file(*rows: dict[str, Any], headers: list[str] | None = None) -> bytes:
    headers = headers or list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return out.getvalue().encode()


def xlsx_file(*rows: list[Any]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def read(content: bytes, name: str = "台账.csv") -> Ledger:
    return read_ledger(content, name, today=TODAY)


def only_row(content: bytes, name: str = "台账.csv") -> LedgerRow:
    result = read(content, name)
    assert result.errors == []
    [row] = result.rows
    return row


def errors(content: bytes, name: str = "台账.csv") -> list[tuple[int, str | None]]:
    return [(e.row, e.column) for e in read(content, name).errors]


# ---------------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_utf8_with_or_without_bom_and_gb18030_read_the_same(encoding: str) -> None:
    content = csv_file(BASE).decode().encode(encoding)
    row = only_row(content)
    assert (row.request_id, row.channel, row.description) == (
        "2026-001",
        Channel.LETTER,
        "2025年度事业单位公开招聘的录用名单",
    )


def test_a_file_in_neither_encoding_is_refused_clearly() -> None:
    content = csv_file(BASE).replace(b"2026-001", b"\xff\xfe\x80")
    [error] = read(content).errors
    assert error.row == 0 and "neither UTF-8 nor GB18030" in error.message
    [utf16] = read(csv_file(BASE).decode().encode("utf-16-le")).errors  # without its BOM
    assert utf16.row == 0 and "UTF-16" in utf16.message


def test_other_files_are_refused_by_what_they_are() -> None:
    assert "old .xls" in read(b"\xd0\xcf\x11\xe0" + b"\0" * 100, "a.xls").errors[0].message
    assert "not a zip" in read(b"hello", "a.xlsx").errors[0].message
    assert ".csv or .xlsx" in read(b"a,b", "a.docx").errors[0].message
    broken = read(b"PK\x03\x04" + b"\0" * 200, "a.xlsx").errors[0]
    assert broken.row == 0 and "not a readable .xlsx" in broken.message


# ---------------------------------------------------------------------------------- labels


def test_chinese_labels_codes_and_english_keys_are_accepted() -> None:
    row = only_row(
        csv_file(
            {
                "request_id": "r-1",
                "Received_On": "2026/3/3",
                "channel": "online",
                "applicant_category": "legal_service_organisation",
                "description": "x",
            }
        )
    )
    assert (row.received_on, row.channel) == (date(2026, 3, 3), Channel.ONLINE)
    assert row.applicant_category is ApplicantCategory.LEGAL_SERVICE_ORGANISATION
    for label, channel in [("当面", Channel.IN_PERSON), ("网上申请", Channel.ONLINE),
                           ("传真", Channel.FAX), ("其他", Channel.OTHER)]:  # fmt: skip
        assert only_row(csv_file({**BASE, "申请渠道": label})).channel is channel
    for label, category in [("商业企业", ApplicantCategory.COMMERCIAL_ENTERPRISE),
                            ("科研机构", ApplicantCategory.RESEARCH_INSTITUTION),
                            ("社会公益组织", ApplicantCategory.SOCIAL_WELFARE_ORGANISATION),
                            ("其他", ApplicantCategory.OTHER_ORGANISATION)]:  # fmt: skip
        assert only_row(csv_file({**BASE, "申请人类型": label})).applicant_category is category


def reply(outcome: str, basis: str = "条例 第三十六条") -> dict[str, str]:
    return {**BASE, "答复结果": outcome, "法律依据": basis, "答复日期": "2026-03-20"}


@pytest.mark.parametrize("outcome", list(ReplyOutcome))
def test_every_table_three_label_with_or_without_its_number_or_the_code(
    outcome: ReplyOutcome,
) -> None:
    label = REPLY_OUTCOME_LABELS[outcome]
    bare = label.split("）", 1)[1] if label.startswith("（") else label.split(".", 1)[1]
    basis = "" if outcome in ledger.LAPSES else "条例"
    for text in (label, bare, outcome.value, f" {label} "):
        assert only_row(csv_file(reply(text, basis))).outcome is outcome, text


def test_partly_disclosed_without_its_note_and_full_width_digits() -> None:
    assert only_row(csv_file(reply("部分公开"))).outcome is ReplyOutcome.PARTIALLY_DISCLOSED
    assert only_row(csv_file(reply("４.保护第三方合法权益"))).outcome is (
        ReplyOutcome.WITHHELD_THIRD_PARTY
    )
    assert only_row(csv_file(reply('危及"三安全一稳定"'))).outcome is (
        ReplyOutcome.WITHHELD_ENDANGERS_SECURITY
    )


def test_dates_in_the_usual_forms() -> None:
    for text in ("2026-03-03", "2026/3/3", "2026.3.3", "2026年3月3日", "2026-03-03 00:00:00"):
        assert only_row(csv_file({**BASE, "收到申请日期": text})).received_on == date(2026, 3, 3)


def test_xlsx_dates_numbers_and_text() -> None:
    headers = ["编号", "收到申请日期", "申请渠道", "申请人类型", "申请内容", "申请人姓名",
               "联系电话", "收费方式", "收费数量", "收费通知日期"]  # fmt: skip
    content = xlsx_file(
        headers,
        ["a1", datetime(2026, 3, 3), "信函", "自然人", "x", "张三", 13800000000, "按量", 150.0,
         46087],
    )  # fmt: skip
    row = only_row(content, "台账.xlsx")
    assert row.received_on == date(2026, 3, 3)
    assert row.fee_noticed_on == date(2026, 3, 6)  # an Excel serial day number
    assert (row.phone, row.fee_units, row.fee_scheme) == ("13800000000", 150, FeeScheme.PER_PAGE)


def test_a_title_row_and_empty_rows_are_passed_over_and_rows_keep_their_numbers() -> None:
    content = xlsx_file(
        ["某局2025年政府信息公开申请台账"],
        list(BASE),
        list(BASE.values()),
        [None, None],
        ["2026-002", *list(BASE.values())[1:]],
    )
    result = read(content, "台账.xlsx")
    assert result.errors == []
    assert [(r.row, r.request_id) for r in result.rows] == [(3, "2026-001"), (5, "2026-002")]


# ---------------------------------------------------------------------------------- row errors


def test_every_bad_row_is_named_with_its_number_and_column() -> None:
    content = csv_file(
        BASE,
        {**BASE, "编号": "2026-002", "收到申请日期": "2026-02-30"},
        {**BASE, "编号": "2026-003", "申请渠道": "飞鸽传书"},
        {**BASE, "编号": "2026 004"},
        {**BASE, "编号": "2026-005", "申请人类型": ""},
        {**BASE, "编号": "2026-001"},
    )
    result = read(content)
    assert [r.request_id for r in result.rows] == ["2026-001"]
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "收到申请日期"),
        (4, "申请渠道"),
        (5, "编号"),
        (6, "申请人类型"),
        (7, "编号"),
    ]
    assert "信函（letter）" in result.errors[1].message
    assert "on row 2 too" in result.errors[4].message


def test_stages_need_their_columns_together() -> None:
    assert errors(csv_file({**BASE, "补正告知日期": "2026-03-05"})) == [(2, "补正期限")]
    assert errors(csv_file({**BASE, "补正收到日期": "2026-03-09"})) == [(2, "补正收到日期")]
    assert errors(csv_file({**BASE, "征求意见开始日期": "2026-03-05"})) == [(2, "征求意见对象")]
    assert errors(csv_file({**BASE, "延期工作日数": "10"})) == [
        (2, "延期批准人"),
        (2, "延期告知日期"),
    ]
    assert errors(csv_file({**BASE, "缴费日期": "2026-03-09"})) == [(2, "缴费日期")]
    assert errors(csv_file({**BASE, "答复结果": "予以公开", "法律依据": "条例"})) == [
        (2, "答复日期")
    ]
    assert errors(csv_file({**BASE, "答复结果": "予以公开", "答复日期": "2026-03-20"})) == [
        (2, "法律依据")
    ]
    assert errors(csv_file({**BASE, "撤回日期": "2026-03-09", "答复日期": "2026-03-20"})) == [
        (2, "撤回日期")
    ]
    assert errors(csv_file({**BASE, "证件号码": "320402199001011234"})) == [(2, "申请人姓名")]
    assert errors(csv_file({**BASE, "收费数量": "很多", "收费方式": "按件",
                            "收费通知日期": "2026-03-05"})) == [(2, "收费数量")]  # fmt: skip


def test_a_date_in_the_future_is_refused() -> None:
    [error] = read(csv_file({**BASE, "答复日期": "2027-01-04", "答复结果": "予以公开",
                             "法律依据": "条例"})).errors  # fmt: skip
    assert (error.row, error.column) == (2, "答复日期") and "future" in error.message


def test_header_problems_are_reported_together_on_row_one() -> None:
    content = csv_file({**BASE, "鞋码": "42", "序号": "1", "备注": "加急"})
    content = content.replace("申请人类型".encode(), "申请人类别".encode())
    assert set(errors(content)) == {(1, "申请人类型"), (1, "申请人类别"), (1, "鞋码")}
    [no_header] = read(b"a,b,c\n1,2,3\n").errors
    assert (no_header.row, no_header.column) == (1, None)
    [empty] = read(csv_file(headers=list(BASE))).errors
    assert empty.row == 2 and "no rows" in empty.message


def test_a_value_without_a_header_is_refused() -> None:
    content = csv_file(BASE).rstrip() + b",stray\r\n"
    assert errors(content) == [(2, "column 6")]


def test_an_id_number_excel_has_rounded_is_refused() -> None:
    content = xlsx_file(
        [*BASE, "申请人姓名", "证件号码"], [*BASE.values(), "张三", 320402199001011234]
    )
    assert errors(content, "台账.xlsx") == [(2, "证件号码")]


# ---------------------------------------------------------------------------------- formulas


def test_formulas_are_refused_with_row_and_column() -> None:
    content = csv_file(BASE, {**BASE, "编号": "2026-002", "申请内容": '=HYPERLINK("x")'})
    [error] = read(content).errors
    assert (error.row, error.column) == (3, "申请内容") and "formula" in error.message
    workbook = xlsx_file(list(BASE), list(BASE.values()), ["a2", "=TODAY()", "信函", "自然人", "x"])
    [error] = read(workbook, "台账.xlsx").errors
    assert (error.row, error.column) == (3, "收到申请日期") and "formula" in error.message


# ---------------------------------------------------------------------------------- limits


def test_files_over_10_mb_are_refused_before_reading() -> None:
    [error] = read(csv_file(BASE) + b" " * ledger.MAX_BYTES).errors
    assert error.row == 0 and "10 MB" in error.message


def test_too_many_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "MAX_ROWS", 5)
    rows = [{**BASE, "编号": f"r{i}"} for i in range(6)]
    [error] = read(csv_file(*rows)).errors
    assert error.row == 0 and "more than 5 rows" in error.message
    assert read(csv_file(*rows[:5])).errors == []


def test_a_sheet_styled_to_its_end_and_a_zip_bomb_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ledger, "MAX_SCANNED_ROWS", 10)
    content = xlsx_file(list(BASE), list(BASE.values()), *([[None, None]] * 5))
    assert read(content, "台账.xlsx").errors == []
    long = xlsx_file(list(BASE), *([["a"]] * 10))
    assert "empty ones included" in read(long, "台账.xlsx").errors[0].message

    monkeypatch.setattr(ledger, "MAX_XLSX_UNPACKED", 1_000_000)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 2_000_000)
    [error] = read(bomb.getvalue(), "台账.xlsx").errors
    assert error.row == 0 and "too large" in error.message


def test_a_quoted_field_that_never_ends_is_an_error_not_a_hang() -> None:
    content = csv_file(BASE) + b'2026-002,2026-03-03,"\xe4\xbf\xa1' + b"x" * 200_000
    result = read(content)
    assert result.errors and result.errors[0].row in (0, 3)


# ---------------------------------------------------------------------------------- commands


FULL = {
    **BASE,
    "申请人姓名": "张三",
    "补正告知日期": "2026-03-04",
    "补正期限": "2026-03-18",
    "补正收到日期": "2026-03-09",
    "征求意见开始日期": "2026-03-11",
    "征求意见对象": "市财政局",
    "征求意见对象类型": "行政机关",
    "征求意见结束日期": "2026-03-16",
    "延期工作日数": "10",
    "延期批准人": "办公室主任",
    "延期告知日期": "2026-03-17",
    "收费方式": "按件",
    "收费数量": "15",
    "收费通知日期": "2026-03-17",
    "缴费日期": "2026-03-20",
    "答复结果": "（一）予以公开",
    "法律依据": "条例 第三十六条 第二项",
    "答复日期": "2026-04-20",
}


def run(row: LedgerRow, sha: str = "a" * 64) -> list[Event]:
    history: list[Event] = list(
        register(row.registration("b"), today=TODAY, history=[], calendar=CALENDAR)
    )
    state = Request.fold(history)
    assert state is not None
    for step in plan(row, bureau_id="b", file_sha256=sha):
        for command in step.commands:
            new = command(state, CALENDAR, 0)
            history += new
            for event in new:
                state = apply(state, event)
    return history


def test_a_row_becomes_the_commands_of_live_entry_in_date_order() -> None:
    row = only_row(csv_file(FULL))
    kinds = [s.kind for s in plan(row, bureau_id="b", file_sha256="a" * 64)]
    assert kinds == [
        "correction_requested",
        "correction_received",
        "consultation_started",
        "consultation_ended",
        "deadline_extended",
        "fee_noticed",  # the same day as the extension: the clock's order
        "fee_paid",
        "replied",
    ]
    events = run(row)
    assert [type(e).__name__ for e in events] == [
        "RequestReceived", "CorrectionRequested", "CorrectionReceived", "ConsultationStarted",
        "ConsultationEnded", "DeadlineExtended", "FeeNoticed", "FeePaid", "ReplyDrafted",
        "ReplyDraftApproved", "ReplySent",
    ]  # fmt: skip
    approved, sent = events[-2], events[-1]
    assert isinstance(approved, ReplyDraftApproved) and isinstance(sent, ReplySent)
    assert approved.review_case_id == review_case_id("a" * 64, 2) == "ledger:aaaaaaaaaaaa:row2"
    assert (sent.outcome, sent.sent_on) == (ReplyOutcome.DISCLOSED, date(2026, 4, 20))
    assert events[3].third_party is False  # type: ignore[attr-defined]


def test_the_columns_decide_the_order_not_their_place_in_the_file() -> None:
    row = only_row(csv_file({**BASE, "收费方式": "按量", "收费数量": "150",
                             "收费通知日期": "2026-03-05", "缴费日期": "2026-03-09",
                             "征求意见开始日期": "2026-03-10", "征求意见对象": "某公司",
                             "征求意见结束日期": "2026-03-12"}))  # fmt: skip
    assert [type(e).__name__ for e in run(row)][1:] == [
        "FeeNoticed", "FeePaid", "ConsultationStarted", "ConsultationEnded",
    ]  # fmt: skip


def test_lapses_and_withdrawals_end_the_request_by_their_own_commands() -> None:
    lapsed = REPLY_OUTCOME_LABELS[ReplyOutcome.OTHER_CORRECTION_LAPSED]
    lapse = only_row(csv_file({**BASE, "补正告知日期": "2026-03-04", "补正期限": "2026-03-18",
                               "答复结果": lapsed, "答复日期": "2026-03-19"}))  # fmt: skip
    assert type(run(lapse)[-1]).__name__ == "CorrectionLapsed"
    withdrawn = only_row(csv_file({**BASE, "撤回日期": "2026-03-05", "答复结果": "3.其他"}))
    assert type(run(withdrawn)[-1]).__name__ == "RequestWithdrawn"
    still_open = only_row(csv_file(BASE))
    assert plan(still_open, bureau_id="b", file_sha256="a" * 64) == []


# ---------------------------------------------------------------------------------- templates


def test_the_templates_read_back_as_one_valid_row() -> None:
    csv_template = template_csv()
    assert csv_template.startswith("\ufeff编号,收到申请日期".encode())
    assert only_row(csv_template).request_id == "2026-001"
    workbook_bytes = template_xlsx()
    assert only_row(workbook_bytes, "台账模板.xlsx").outcome is ReplyOutcome.DISCLOSED
    workbook = openpyxl.load_workbook(io.BytesIO(workbook_bytes))
    assert workbook.sheetnames == ["台账", "填写说明"]
    guide = list(workbook["填写说明"].iter_rows(values_only=True))
    assert [g[0] for g in guide[1 : len(COLUMNS) + 1]] == [c.header for c in COLUMNS]
    assert "予以公开" in str(guide)


def test_row_errors_serialise_for_the_api() -> None:
    assert RowError(3, "申请渠道", "bad").detail() == {"row": 3, "column": "申请渠道", "msg": "bad"}

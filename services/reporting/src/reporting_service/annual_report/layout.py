"""The annual report formats: section headings, table rows and columns with their official
labels, character for character (disclosure-rules §4; the 2007-era sections follow the 2007
条例 第三十二条)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gongkai_contracts.vocabulary import (
    APPLICANT_CATEGORY_LABELS,
    REPLY_OUTCOME_LABELS,
    ApplicantCategory,
    CaseResult,
    ItemCategory,
    ReplyOutcome,
)


class ReportFormat(StrEnum):
    """Which format a report year is written in."""

    F2021 = "2021"  # 国办公开办函〔2021〕30号: report years 2021 on
    F2019 = "2019"  # 格式（试行）, 国办公开办函〔2019〕60号: report years 2019 and 2020
    F2007 = "2007"  # 2007 条例 第三十二条, no national table: report years 2008–2018


FORMAT_BASIS: dict[ReportFormat, str] = {
    ReportFormat.F2021: "国办公开办函〔2021〕30号",
    ReportFormat.F2019: "国办公开办函〔2019〕60号",
    ReportFormat.F2007: "《中华人民共和国政府信息公开条例》（国务院令第492号）第三十二条",
}


def format_for_year(year: int) -> ReportFormat:
    if year >= 2021:
        return ReportFormat.F2021
    if year >= 2019:
        return ReportFormat.F2019
    return ReportFormat.F2007


def report_title(bureau_name: str, year: int) -> str:
    return f"《{bureau_name}{year}年政府信息公开工作年度报告》"


# ---------------------------------------------------------------- sections

OVERVIEW = "一、总体情况"
PROACTIVE = "二、主动公开政府信息情况"
REQUESTS = "三、收到和处理政府信息公开申请情况"
CASES = "四、政府信息公开行政复议、行政诉讼情况"
PROBLEMS = "五、存在的主要问题及改进情况"
OTHER_MATTERS = "六、其他需要报告的事项"
SECTIONS = (OVERVIEW, PROACTIVE, REQUESTS, CASES, PROBLEMS, OTHER_MATTERS)

# 2007 条例 第三十二条 lists (一)主动公开 (二)依申请公开和不予公开 (三)收费及减免 (四)复议、诉讼
# (五)问题及改进 (六)其他; reports of the time open with an 概述 and split (二) in two.
OVERVIEW_2007 = "一、概述"
PROACTIVE_2007 = "二、主动公开政府信息情况"
REQUESTS_2007 = "三、依申请公开政府信息情况"
WITHHELD_2007 = "四、不予公开政府信息情况"
FEES_2007 = "五、政府信息公开的收费及减免情况"
CASES_2007 = "六、因政府信息公开申请行政复议、提起行政诉讼的情况"
PROBLEMS_2007 = "七、政府信息公开工作存在的主要问题及改进情况"
OTHER_MATTERS_2007 = "八、其他需要报告的事项"
SECTIONS_2007 = (
    OVERVIEW_2007,
    PROACTIVE_2007,
    REQUESTS_2007,
    WITHHELD_2007,
    FEES_2007,
    CASES_2007,
    PROBLEMS_2007,
    OTHER_MATTERS_2007,
)


# ---------------------------------------------------------------- table 二


@dataclass(frozen=True)
class ItemRow:
    label: str  # 信息内容
    category: ItemCategory | None  # None: the catalogue keeps nothing that fills the row


@dataclass(frozen=True)
class ItemBlock:
    header: str  # 第二十条第（一）项 …
    columns: tuple[str, ...]
    rows: tuple[ItemRow, ...]


CONTENT = "信息内容"

# Column labels of table 二 (2021).
ISSUED = "本年制发件数"
REPEALED = "本年废止件数"
IN_FORCE = "现行有效件数"
DECISIONS = "本年处理决定数量"
FEE_AMOUNT = "本年收费金额（单位：万元）"

TABLE2_2021 = (
    ItemBlock(
        "第二十条第（一）项",
        (ISSUED, REPEALED, IN_FORCE),
        (
            ItemRow("规章", ItemCategory.REGULATION),
            ItemRow("行政规范性文件", ItemCategory.NORMATIVE_DOCUMENT),
        ),
    ),
    ItemBlock("第二十条第（五）项", (DECISIONS,), (ItemRow("行政许可", ItemCategory.LICENSING),)),
    ItemBlock(
        "第二十条第（六）项",
        (DECISIONS,),
        (ItemRow("行政处罚", ItemCategory.PENALTY), ItemRow("行政强制", ItemCategory.COERCION)),
    ),
    ItemBlock(
        "第二十条第（八）项",
        (FEE_AMOUNT,),
        (ItemRow("行政事业性收费", ItemCategory.ADMINISTRATIVE_FEE),),
    ),
)

# Column labels of table 二 (2019 trial format).
MADE_2019 = "本年新制作数量"
PUBLISHED_2019 = "本年新公开数量"
PUBLIC_TOTAL_2019 = "对外公开总数量"
PREVIOUS_ITEMS_2019 = "上一年项目数量"
CHANGE_2019 = "本年增/减"
DECISIONS_2019 = "处理决定数量"
PURCHASES_2019 = "采购项目数量"
PURCHASE_AMOUNT_2019 = "采购总金额"

TABLE2_2019 = (
    ItemBlock(
        "第二十条第（一）项",
        (MADE_2019, PUBLISHED_2019, PUBLIC_TOTAL_2019),
        (
            ItemRow("规章", ItemCategory.REGULATION),
            ItemRow("规范性文件", ItemCategory.NORMATIVE_DOCUMENT),
        ),
    ),
    ItemBlock(
        "第二十条第（五）项",
        (PREVIOUS_ITEMS_2019, CHANGE_2019, DECISIONS_2019),
        (ItemRow("行政许可", ItemCategory.LICENSING), ItemRow("其他对外管理服务事项", None)),
    ),
    ItemBlock(
        "第二十条第（六）项",
        (PREVIOUS_ITEMS_2019, CHANGE_2019, DECISIONS_2019),
        (ItemRow("行政处罚", ItemCategory.PENALTY), ItemRow("行政强制", ItemCategory.COERCION)),
    ),
    ItemBlock(
        "第二十条第（八）项",
        (PREVIOUS_ITEMS_2019, CHANGE_2019),
        (ItemRow("行政事业性收费", ItemCategory.ADMINISTRATIVE_FEE),),
    ),
    ItemBlock(
        "第二十条第（九）项",
        (PURCHASES_2019, PURCHASE_AMOUNT_2019),
        (ItemRow("政府集中采购", None),),
    ),
)


def table2_layout(fmt: ReportFormat) -> tuple[ItemBlock, ...]:
    return TABLE2_2019 if fmt is ReportFormat.F2019 else TABLE2_2021


# ---------------------------------------------------------------- table 三

TABLE3_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
APPLICANTS = "申请人情况"
ORGANISATIONS = "法人或其他组织"
TOTAL = "总计"

# Column keys are the ApplicantCategory values and "total".
TOTAL_KEY = "total"
APPLICANT_COLUMNS: tuple[tuple[str, str], ...] = (
    *((c.value, APPLICANT_CATEGORY_LABELS[c]) for c in ApplicantCategory),
    (TOTAL_KEY, TOTAL),
)
COLUMN_LABELS: dict[str, str] = dict(APPLICANT_COLUMNS)

ROW_NEW = "new"
ROW_CARRIED_IN = "carried_in"
ROW_TOTAL = "total"
ROW_CARRIED_OUT = "carried_out"
ROW_OTHER_2019 = "other_processing"  # （六）其他处理 as one row in the 2019 format

NEW_LABEL = "一、本年新收政府信息公开申请数量"
CARRIED_IN_LABEL = "二、上年结转政府信息公开申请数量"
RESULTS_LABEL = "三、本年度办理结果"
TOTAL_LABEL = "（七）总计"
CARRIED_OUT_LABEL = "四、结转下年度继续办理"
WITHHELD_GROUP = "（三）不予公开"
UNAVAILABLE_GROUP = "（四）无法提供"
NOT_PROCESSED_GROUP = "（五）不予处理"
OTHER_GROUP = "（六）其他处理"

_GROUPS: dict[str, str] = {
    "withheld_": WITHHELD_GROUP,
    "unavailable_": UNAVAILABLE_GROUP,
    "not_processed_": NOT_PROCESSED_GROUP,
    "other": OTHER_GROUP,
}


def outcome_group(outcome: ReplyOutcome) -> str | None:
    """The group label an outcome row sits under, None for （一） and （二）."""
    for prefix, group in _GROUPS.items():
        if outcome.value.startswith(prefix):
            return group
    return None


@dataclass(frozen=True)
class RequestRow:
    """One numeric row of table 三."""

    key: str
    label: str
    group: str | None = None  # （三）不予公开 … for the numbered sub-rows
    outcome_row: bool = False  # one of the rows that add up to （七）总计
    outcomes: tuple[ReplyOutcome, ...] = ()  # the outcomes counted in this row


def table3_rows(fmt: ReportFormat) -> tuple[RequestRow, ...]:
    """25 rows in the 2021 format, 23 in the 2019 one (（六）其他处理 is a single row)."""
    outcome_rows: list[RequestRow] = []
    for outcome in ReplyOutcome:
        group = outcome_group(outcome)
        if group == OTHER_GROUP and fmt is ReportFormat.F2019:
            continue
        outcome_rows.append(
            RequestRow(outcome.value, REPLY_OUTCOME_LABELS[outcome], group, True, (outcome,))
        )
    if fmt is ReportFormat.F2019:
        others = tuple(o for o in ReplyOutcome if outcome_group(o) == OTHER_GROUP)
        outcome_rows.append(RequestRow(ROW_OTHER_2019, OTHER_GROUP, None, True, others))
    return (
        RequestRow(ROW_NEW, NEW_LABEL),
        RequestRow(ROW_CARRIED_IN, CARRIED_IN_LABEL),
        *outcome_rows,
        RequestRow(ROW_TOTAL, TOTAL_LABEL),
        RequestRow(ROW_CARRIED_OUT, CARRIED_OUT_LABEL),
    )


def outcome_row_key(outcome: ReplyOutcome, fmt: ReportFormat) -> str:
    if fmt is ReportFormat.F2019 and outcome_group(outcome) == OTHER_GROUP:
        return ROW_OTHER_2019
    return outcome.value


# ---------------------------------------------------------------- table 四

RECONSIDERATION = "行政复议"
LITIGATION = "行政诉讼"


class CaseBlock(StrEnum):
    """The three blocks of table 四 (same values as the requests service's CaseKind)."""

    RECONSIDERATION = "reconsideration"
    LITIGATION_DIRECT = "litigation_direct"
    LITIGATION_AFTER_RECONSIDERATION = "litigation_after_reconsideration"


CASE_BLOCK_LABELS: dict[CaseBlock, str] = {
    CaseBlock.RECONSIDERATION: RECONSIDERATION,
    CaseBlock.LITIGATION_DIRECT: "未经复议直接起诉",
    CaseBlock.LITIGATION_AFTER_RECONSIDERATION: "复议后起诉",
}

PENDING_KEY = "pending"
CASE_COLUMNS: tuple[tuple[str, str], ...] = (
    (CaseResult.UPHELD.value, "结果维持"),
    (CaseResult.CORRECTED.value, "结果纠正"),
    (CaseResult.OTHER.value, "其他结果"),
    (PENDING_KEY, "尚未审结"),
    (TOTAL_KEY, TOTAL),
)
CASE_COLUMN_LABELS: dict[str, str] = dict(CASE_COLUMNS)

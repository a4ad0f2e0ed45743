"""The annual report's labels are the official ones, character for character, as copied in
disclosure-rules §4 (full-width brackets, curly quotes and all)."""

from __future__ import annotations

from reporting_service.annual_report import layout as L

TABLE3_2021 = [
    "一、本年新收政府信息公开申请数量",
    "二、上年结转政府信息公开申请数量",
    "（一）予以公开",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "1.属于国家秘密",
    "2.其他法律行政法规禁止公开",
    "3.危及“三安全一稳定”",
    "4.保护第三方合法权益",
    "5.属于三类内部事务信息",
    "6.属于四类过程性信息",
    "7.属于行政执法案卷",
    "8.属于行政查询事项",
    "1.本机关不掌握相关政府信息",
    "2.没有现成信息需要另行制作",
    "3.补正后申请内容仍不明确",
    "1.信访举报投诉类申请",
    "2.重复申请",
    "3.要求提供公开出版物",
    "4.无正当理由大量反复申请",
    "5.要求行政机关确认或重新出具已获取信息",
    "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "3.其他",
    "（七）总计",
    "四、结转下年度继续办理",
]


def test_table_three_has_the_25_official_rows_in_order() -> None:
    assert [r.label for r in L.table3_rows(L.ReportFormat.F2021)] == TABLE3_2021
    groups = [r.group for r in L.table3_rows(L.ReportFormat.F2021)]
    assert groups.count("（三）不予公开") == 8
    assert groups.count("（四）无法提供") == 3
    assert groups.count("（五）不予处理") == 5
    assert groups.count("（六）其他处理") == 3
    assert sum(r.outcome_row for r in L.table3_rows(L.ReportFormat.F2021)) == 21


def test_the_2019_format_has_other_processing_as_one_row() -> None:
    rows = [r.label for r in L.table3_rows(L.ReportFormat.F2019)]
    expected = [*TABLE3_2021[:20], "（六）其他处理", *TABLE3_2021[23:]]
    assert rows == expected
    assert len(rows) == 23
    other = L.table3_rows(L.ReportFormat.F2019)[20]
    assert [o.value for o in other.outcomes] == [
        "other_correction_lapsed",
        "other_fee_lapsed",
        "other",
    ]


def test_the_quotes_are_full_width_curly_ones() -> None:
    label = "3.危及“三安全一稳定”"
    assert [hex(ord(c)) for c in label if not c.isalnum() and c != "."] == ["0x201c", "0x201d"]
    assert label in [r.label for r in L.table3_rows(L.ReportFormat.F2021)]


def test_table_three_columns_and_header() -> None:
    assert [label for _, label in L.APPLICANT_COLUMNS] == [
        "自然人",
        "商业企业",
        "科研机构",
        "社会公益组织",
        "法律服务机构",
        "其他",
        "总计",
    ]
    assert L.APPLICANTS == "申请人情况"
    assert L.ORGANISATIONS == "法人或其他组织"
    assert L.TABLE3_NOTE == ("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）")
    assert L.RESULTS_LABEL == "三、本年度办理结果"


def test_table_four_labels() -> None:
    assert list(L.CASE_BLOCK_LABELS.values()) == ["行政复议", "未经复议直接起诉", "复议后起诉"]
    assert L.LITIGATION == "行政诉讼"
    assert [label for _, label in L.CASE_COLUMNS] == [
        "结果维持",
        "结果纠正",
        "其他结果",
        "尚未审结",
        "总计",
    ]


def test_table_two_labels_2021_and_2019() -> None:
    assert [(b.header, b.columns, [r.label for r in b.rows]) for b in L.TABLE2_2021] == [
        (
            "第二十条第（一）项",
            ("本年制发件数", "本年废止件数", "现行有效件数"),
            ["规章", "行政规范性文件"],
        ),
        ("第二十条第（五）项", ("本年处理决定数量",), ["行政许可"]),
        ("第二十条第（六）项", ("本年处理决定数量",), ["行政处罚", "行政强制"]),
        ("第二十条第（八）项", ("本年收费金额（单位：万元）",), ["行政事业性收费"]),
    ]
    assert [(b.header, b.columns, [r.label for r in b.rows]) for b in L.TABLE2_2019] == [
        (
            "第二十条第（一）项",
            ("本年新制作数量", "本年新公开数量", "对外公开总数量"),
            ["规章", "规范性文件"],
        ),
        (
            "第二十条第（五）项",
            ("上一年项目数量", "本年增/减", "处理决定数量"),
            ["行政许可", "其他对外管理服务事项"],
        ),
        (
            "第二十条第（六）项",
            ("上一年项目数量", "本年增/减", "处理决定数量"),
            ["行政处罚", "行政强制"],
        ),
        ("第二十条第（八）项", ("上一年项目数量", "本年增/减"), ["行政事业性收费"]),
        ("第二十条第（九）项", ("采购项目数量", "采购总金额"), ["政府集中采购"]),
    ]
    assert L.CONTENT == "信息内容"


def test_section_headings_and_formats_by_year() -> None:
    assert L.SECTIONS == (
        "一、总体情况",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
        "五、存在的主要问题及改进情况",
        "六、其他需要报告的事项",
    )
    assert L.format_for_year(2008) is L.ReportFormat.F2007
    assert L.format_for_year(2018) is L.ReportFormat.F2007
    assert L.format_for_year(2019) is L.ReportFormat.F2019
    assert L.format_for_year(2020) is L.ReportFormat.F2019
    assert L.format_for_year(2021) is L.ReportFormat.F2021
    assert L.format_for_year(2026) is L.ReportFormat.F2021
    assert L.report_title("某市人力资源和社会保障局", 2026) == (
        "《某市人力资源和社会保障局2026年政府信息公开工作年度报告》"
    )

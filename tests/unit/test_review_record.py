"""The written review record (书面审查记录)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from gongkai_contracts import Event
from gongkai_contracts.vocabulary import ReviewSubject
from review_service.domain.case import ReviewCase, Subject, SubjectDetails, apply, open_review
from review_service.domain.grounds import WithholdingGround
from review_service.entrypoints.record import record_html, written_record

T0 = datetime(2026, 3, 5, 1, 30, tzinfo=UTC)  # 09:30 in Beijing


def recorded_case() -> ReviewCase:
    history = open_review("c-7", Subject(ReviewSubject.ITEM, "i-1", 2), ["初审", "复审"])
    state = ReviewCase.fold_recorded([(history[0], T0, "clerk-1")])
    assert state is not None
    steps: list[Callable[[ReviewCase], list[Event]]] = [
        lambda s: s.complete_stage(
            "初审", "业务科 <b>张三</b>", "同意\n第二行", [WithholdingGround.THIRD_PARTY]
        ),
        lambda s: s.refer("复审", "市国家保密局", "附件是否涉密"),
        lambda s: s.answer_referral(None, "不属于国家秘密", True),
    ]
    for minutes, step in enumerate(steps, start=1):
        for event in step(state):
            state = apply(state, event, T0.replace(minute=30 + minutes), f"reviewer-{minutes}")
    return state


def test_the_record_lists_stages_referral_grounds_and_conclusion() -> None:
    details = SubjectDetails("关于2026年度部门预算的公告", "常人社〔2026〕3号", "部门预算")
    record = written_record("cz-hrss", recorded_case(), details)
    assert record["subject"] == {
        "kind": "item",
        "kind_label": "主动公开目录条目",
        "id": "i-1",
        "version": 2,
        "title": "关于2026年度部门预算的公告",
        "document_number": "常人社〔2026〕3号",
        "summary": "部门预算",
    }
    assert [
        (s["stage"], s["status"], s["reviewer"], s["recorded_by"], s["by_referral"])
        for s in record["stages"]
    ] == [
        ("初审", "passed", "业务科 <b>张三</b>", "reviewer-1", False),
        ("复审", "passed", "市国家保密局", "reviewer-3", True),
    ]
    assert record["stages"][0]["withholding_grounds"] == [
        {
            "code": "third_party",
            "label": "第十五条 涉及商业秘密、个人隐私等公开会对第三方合法权益造成损害",
        }
    ]
    assert record["referrals"][0]["answer"] == "不属于国家秘密"
    assert record["withholding_grounds"][0]["code"] == "third_party"
    assert record["conclusion"]["state"] == "approved"
    assert record["conclusion"]["label"] == "同意公开"


def test_the_printable_page_is_escaped_self_contained_and_in_chinese() -> None:
    details = SubjectDetails("<script>alert(1)</script>", None, "")
    page = record_html(written_record("cz-hrss", recorded_case(), details))
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "业务科 &lt;b&gt;张三&lt;/b&gt;" in page
    for label in (
        "政府信息公开保密审查记录",
        "审查环节",
        "审查人",
        "审查意见",
        "不予公开的依据",
        "报请确定",
        "审查结论",
        "同意公开",
    ):
        assert label in page
    assert "2026-03-05 09:31" in page  # times in China time
    assert "http" not in page, "no external assets"

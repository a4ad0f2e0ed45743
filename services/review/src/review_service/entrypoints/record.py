"""The written review record (书面审查记录): what was reviewed, each stage's reviewer, opinion
and time, the grounds for withholding, and the conclusion; as JSON and as a printable page."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from gongkai_contracts.vocabulary import ReviewSubject

from ..domain.case import CaseState, ReviewCase, StageResult, SubjectDetails
from ..domain.grounds import WITHHOLDING_GROUND_LABELS, WithholdingGround

# Beijing time has had no daylight saving since 1991: a fixed offset needs no tz database.
CHINA = timezone(timedelta(hours=8), "CST")
REGULATION = "《中华人民共和国政府信息公开条例》"

SUBJECT_LABELS: dict[ReviewSubject, str] = {
    ReviewSubject.ITEM: "主动公开目录条目",
    ReviewSubject.REPLY: "依申请公开答复",
}
CONCLUSION_LABELS: dict[CaseState, str] = {
    CaseState.OPEN: "审查中",
    CaseState.APPROVED: "同意公开",
    CaseState.REJECTED: "不同意公开，退回修改",
}
STAGE_STATUS_LABELS = {
    "passed": "同意",
    "rejected": "不同意",
    "current": "审查中",
    "pending": "未审查",
}


def written_record(bureau_id: str, case: ReviewCase, details: SubjectDetails) -> dict[str, Any]:
    done = {r.stage: r for r in case.results}
    stages = [_stage(name, done.get(name), case) for name in case.stages]
    return {
        "record": "政府信息公开保密审查记录",
        "case_id": case.case_id,
        "bureau_id": bureau_id,
        "subject": {
            "kind": case.subject.kind.value,
            "kind_label": SUBJECT_LABELS[case.subject.kind],
            "id": case.subject.subject_id,
            "version": case.subject.version,
            "title": details.title,
            "document_number": details.document_number,
            "summary": details.summary,
        },
        "opened_at": case.opened_at,
        "stages": stages,
        "referrals": [
            {
                "stage": r.stage,
                "referred_to": r.referred_to,
                "question": r.question,
                "referred_at": r.at,
                "answered_by": r.answered_by,
                "answer": r.answer,
                "answered_at": r.answered_at,
            }
            for r in case.referrals
        ],
        "withholding_grounds": _grounds(case.grounds),
        "conclusion": {
            "state": case.state.value,
            "label": CONCLUSION_LABELS[case.state],
            "reasons": case.reasons,
            "at": case.closed_at,
        },
    }


def _stage(name: str, result: StageResult | None, case: ReviewCase) -> dict[str, Any]:
    if result is None:
        status = "current" if name == case.current_stage else "pending"
        return {
            "stage": name,
            "status": status,
            "status_label": STAGE_STATUS_LABELS[status],
            "reviewer": None,
            "recorded_by": None,
            "opinion": None,
            "withholding_grounds": [],
            "by_referral": False,
            "at": None,
        }
    status = "passed" if result.passed else "rejected"
    return {
        "stage": name,
        "status": status,
        "status_label": STAGE_STATUS_LABELS[status],
        "reviewer": result.reviewer,
        "recorded_by": result.recorded_by,
        "opinion": result.opinion,
        "withholding_grounds": _grounds(result.grounds),
        "by_referral": result.by_referral,
        "at": result.at,
    }


def _grounds(grounds: tuple[WithholdingGround, ...]) -> list[dict[str, str]]:
    return [{"code": g.value, "label": WITHHOLDING_GROUND_LABELS[g]} for g in grounds]


# ---------------------------------------------------------------- the printable page

STYLE = """
@page { size: A4; margin: 18mm 16mm; }
body { margin: 0; background: #eee; color: #000;
       font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; }
main { max-width: 180mm; margin: 8mm auto; padding: 14mm 14mm 18mm; background: #fff; }
h1 { text-align: center; font-size: 20pt; letter-spacing: .15em; margin: 0 0 3mm; }
h2 { font-size: 13pt; margin: 6mm 0 2mm; }
p.no { text-align: right; font-size: 10pt; margin: 0 0 3mm; }
table { width: 100%; border-collapse: collapse; font-size: 11pt; }
th, td { border: 1px solid #000; padding: 1.8mm 2.2mm; text-align: left; vertical-align: top; }
th { font-weight: normal; background: #f2f2f2; white-space: nowrap; }
td.text { white-space: pre-wrap; }
ul { margin: 0; padding-left: 6mm; }
.none { color: #555; }
@media print { body { background: none; } main { margin: 0; padding: 0; max-width: none; } }
"""


def record_html(record: dict[str, Any]) -> str:
    subject = record["subject"]
    rows = "".join(
        "<tr>"
        f"<td>{_e(s['stage'])}</td>"
        f"<td>{_e(s['reviewer'])}</td>"
        f'<td class="text">{_e(s["opinion"])}{_ground_list(s["withholding_grounds"])}</td>'
        f"<td>{_e(s['status_label'])}{'（报请确定）' if s['by_referral'] else ''}</td>"
        f"<td>{_time(s['at'])}</td>"
        "</tr>"
        for s in record["stages"]
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>政府信息公开保密审查记录 · {_e(subject['title'])}</title>",
        f"<style>{STYLE}</style></head><body><main>",
        "<h1>政府信息公开保密审查记录</h1>",
        f'<p class="no">审查编号：{_e(record["case_id"])}　机关：{_e(record["bureau_id"])}</p>',
        "<table>",
        f'<tr><th>被审查信息</th><td colspan="3">{_e(subject["title"])}</td></tr>',
        f"<tr><th>信息类别</th><td>{_e(subject['kind_label'])}</td>"
        f"<th>版本</th><td>第 {subject['version']} 版</td></tr>",
        f"<tr><th>文号</th><td>{_e(subject['document_number'])}</td>"
        f"<th>送审时间</th><td>{_time(record['opened_at'])}</td></tr>",
        f'<tr><th>内容摘要</th><td colspan="3" class="text">{_e(subject["summary"])}</td></tr>',
        "</table>",
        "<h2>审查意见</h2>",
        "<table><thead><tr><th>审查环节</th><th>审查人</th><th>审查意见</th><th>结论</th>"
        f"<th>时间</th></tr></thead><tbody>{rows}</tbody></table>",
    ]
    if record["referrals"]:
        referrals = "".join(
            "<tr>"
            f"<td>{_e(r['stage'])}</td><td>{_e(r['referred_to'])}</td>"
            f'<td class="text">{_e(r["question"])}</td><td>{_time(r["referred_at"])}</td>'
            f'<td class="text">{_e(r["answer"])}</td><td>{_time(r["answered_at"])}</td>'
            "</tr>"
            for r in record["referrals"]
        )
        parts += [
            "<h2>报请确定（条例第十七条）</h2>",
            "<table><thead><tr><th>审查环节</th><th>报送机关</th><th>请示事项</th>"
            "<th>报送时间</th><th>答复意见</th><th>答复时间</th></tr></thead>"
            f"<tbody>{referrals}</tbody></table>",
        ]
    grounds = record["withholding_grounds"]
    parts += [
        "<h2>不予公开的依据</h2>",
        _ground_list(grounds, standalone=True) if grounds else '<p class="none">无</p>',
        "<h2>审查结论</h2>",
        "<table>",
        f"<tr><th>结论</th><td>{_e(record['conclusion']['label'])}</td></tr>",
    ]
    if record["conclusion"]["reasons"]:
        parts.append(
            f'<tr><th>理由</th><td class="text">{_e(record["conclusion"]["reasons"])}</td></tr>'
        )
    parts += [
        f"<tr><th>时间</th><td>{_time(record['conclusion']['at'])}</td></tr>",
        "</table></main></body></html>",
    ]
    return "\n".join(parts)


def _ground_list(grounds: list[dict[str, str]], *, standalone: bool = False) -> str:
    if not grounds:
        return ""
    items = "".join(f"<li>{REGULATION}{_e(g['label'])}</li>" for g in grounds)
    return f"<ul>{items}</ul>" if standalone else f"<br>不予公开的依据：<ul>{items}</ul>"


def _e(value: object) -> str:
    return "—" if value is None or value == "" else escape(str(value))


def _time(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")

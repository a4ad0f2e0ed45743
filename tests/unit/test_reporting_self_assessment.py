"""Self-assessment (自评): the default scheme is the seed's 15 / 10 / 75; evidence items are
scored from the log (review before publication, replies on time, monthly and annual sign-offs),
the rest entered with a reason; groups add up; schemes that do not add up are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from gongkai_contracts.vocabulary import ItemCategory, ReplyOutcome
from reporting_service.annual_report.facts import (
    Facts,
    ItemFact,
    ItemFactKind,
    RequestFact,
    RequestFactKind,
)
from reporting_service.self_assessment.scoring import (
    DEFAULT_SCHEME,
    Approval,
    Entry,
    EntryError,
    Evidence,
    Proof,
    SchemeError,
    check_entry,
    entered_keys,
    grade,
    prove,
    scheme_from_dict,
    score,
)

T = datetime(2026, 3, 1, tzinfo=UTC)
CAT = next(iter(ItemCategory))


def published(item: str, version: int, on: date, at: datetime) -> ItemFact:
    return ItemFact(f"p-{item}-{version}", item, ItemFactKind.PUBLISHED, CAT, on, at, version, True)


def test_the_default_scheme_is_the_seeds_three_parts() -> None:
    assert DEFAULT_SCHEME.max_points == 100
    parts = {c.title: c.max_points for c in DEFAULT_SCHEME.children}
    assert parts == {
        "一、政府信息公开工作的组织推进情况": 15,
        "二、政府信息公开工作制度建设情况": 10,
        "三、政府信息公开日常工作情况": 75,
    }
    evidence = {i.evidence for i in DEFAULT_SCHEME.walk() if i.evidence}
    assert evidence == set(Evidence)


def test_evidence_from_the_log() -> None:
    facts = Facts(
        items=[
            published("I1", 1, date(2026, 2, 1), T),  # approved before
            published("I2", 1, date(2026, 2, 2), T),  # approved only after publication
            published("I3", 2, date(2026, 2, 3), T),  # version 1 approved, not version 2
            published("I4", 1, date(2025, 12, 3), T),  # another year
        ],
        requests=[
            RequestFact("r1", "R1", RequestFactKind.RECEIVED, date(2026, 1, 5), T),
            RequestFact(
                "r1c",
                "R1",
                RequestFactKind.CLOSED,
                date(2026, 1, 20),
                T,
                outcome=ReplyOutcome.DISCLOSED,
                on_time=True,
            ),
            RequestFact("r2", "R2", RequestFactKind.RECEIVED, date(2026, 1, 5), T),
            RequestFact(
                "r2c",
                "R2",
                RequestFactKind.CLOSED,
                date(2026, 3, 20),
                T,
                outcome=ReplyOutcome.DISCLOSED,
                on_time=False,
            ),
            RequestFact("r3", "R3", RequestFactKind.RECEIVED, date(2026, 1, 5), T),
            RequestFact(  # a withdrawal has no on_time: not a reply
                "r3c",
                "R3",
                RequestFactKind.CLOSED,
                date(2026, 1, 9),
                T,
                outcome=ReplyOutcome.OTHER,
            ),
        ],
    )
    approvals = [
        Approval("I1", 1, T - timedelta(hours=1)),
        Approval("I2", 1, T + timedelta(hours=1)),
        Approval("I3", 1, T - timedelta(days=1)),
    ]
    sign_offs = {
        (2026, 1): date(2026, 2, 4),
        (2026, 2): date(2026, 3, 9),  # late
        (2025, 0): date(2026, 1, 31),  # the 2025 report, on time
    }
    proofs = prove(2026, facts, approvals, sign_offs, today=date(2026, 5, 10))
    reviewed = proofs[Evidence.REVIEWED_BEFORE_PUBLICATION]
    assert reviewed.checked == 3 and len(reviewed.failures) == 2
    assert [f.split()[0] for f in reviewed.failures] == ["I2", "I3"]
    assert proofs[Evidence.REQUESTS_ANSWERED_ON_TIME] == Proof(2, ("R2 2026-03-20 逾期答复",))
    monthly = proofs[Evidence.MONTHLY_REPORTS_ON_TIME]
    assert monthly.checked == 4  # January to April are due by 10 May
    assert monthly.failures == (
        "2026年2月统计月报逾期报送",
        "2026年3月统计月报逾期未报",
        "2026年4月统计月报逾期未报",
    )
    assert proofs[Evidence.ANNUAL_REPORT_ON_TIME] == Proof(1)
    late_annual = prove(2026, Facts(), [], {}, today=date(2026, 2, 1))
    assert late_annual[Evidence.ANNUAL_REPORT_ON_TIME].failures == ("2025年度报告逾期未公布",)
    assert prove(2026, Facts(), [], {}, date(2026, 1, 2))[Evidence.ANNUAL_REPORT_ON_TIME] == Proof(
        0
    )

    tree = score(DEFAULT_SCHEME, proofs, {})
    daily = {c.item.key: c for c in tree.children[2].children}
    assert daily["daily.reviewed_before_publication"].score == 20 - 2 * 2
    assert daily["daily.requests_answered_on_time"].score == 25 - 5
    assert daily["daily.monthly_reports_on_time"].score == 12 - 3
    assert daily["daily.annual_report_on_time"].score == 8
    assert daily["daily.catalogue_and_channels"].score is None
    assert not tree.complete
    assert tree.score == 16 + 20 + 9 + 8


def test_deductions_stop_at_zero_and_entries_complete_the_total() -> None:
    proofs = {
        Evidence.REQUESTS_ANSWERED_ON_TIME: Proof(9, tuple(f"R{i}" for i in range(9))),
    }
    entries = {
        k: Entry(Decimal(i % 3 + 2), "自评理由") for i, k in enumerate(entered_keys(DEFAULT_SCHEME))
    }
    tree = score(DEFAULT_SCHEME, proofs, entries)
    assert tree.complete
    replies = DEFAULT_SCHEME.find("daily.requests_answered_on_time")
    assert replies is not None
    found = next(c for c in tree.children[2].children if c.item is replies)
    assert found.score == 0 and found.deducted == 25
    entered = sum((e.score for e in entries.values()), Decimal(0))
    assert tree.score == entered + 20 + 0 + 12 + 8
    for group in tree.children:
        assert group.score == sum((c.score or Decimal(0) for c in group.children), Decimal(0))


def test_entries_only_for_items_no_event_proves() -> None:
    assert check_entry(DEFAULT_SCHEME, "organisation.leadership", Decimal(8)).max_points == 8
    with pytest.raises(EntryError, match="between 0 and 8"):
        check_entry(DEFAULT_SCHEME, "organisation.leadership", Decimal("8.5"))
    with pytest.raises(EntryError, match="evidence"):
        check_entry(DEFAULT_SCHEME, "daily.reviewed_before_publication", Decimal(1))
    with pytest.raises(EntryError, match="group"):
        check_entry(DEFAULT_SCHEME, "daily", Decimal(1))
    with pytest.raises(EntryError, match="no item"):
        check_entry(DEFAULT_SCHEME, "nothing", Decimal(1))


@pytest.mark.parametrize(
    ("total", "label"),
    [
        (Decimal(100), "优秀"),
        (Decimal(90), "优秀"),
        (Decimal("89.5"), "良好"),
        (Decimal(60), "合格"),
        (Decimal(59), "不合格"),
    ],
)
def test_grades(total: Decimal, label: str) -> None:
    assert grade(total, Decimal(100)) == label


def test_a_configured_scheme_must_add_up() -> None:
    scheme = scheme_from_dict(
        {
            "key": "all",
            "title": "考核",
            "max_points": 20,
            "children": [
                {"key": "a", "title": "组织领导", "max_points": 5},
                {
                    "key": "b",
                    "title": "按期答复",
                    "max_points": 15,
                    "evidence": "requests_answered_on_time",
                    "deduction": 3,
                },
            ],
        }
    )
    assert entered_keys(scheme) == ["a"]
    with pytest.raises(SchemeError, match="add up"):
        scheme_from_dict(
            {
                "key": "x",
                "title": "x",
                "max_points": 10,
                "children": [{"key": "y", "title": "y", "max_points": 5}],
            }
        )
    with pytest.raises(SchemeError, match="deduction"):
        scheme_from_dict(
            {"key": "x", "title": "x", "max_points": 5, "evidence": "annual_report_on_time"}
        )
    with pytest.raises(SchemeError, match="repeat"):
        scheme_from_dict(
            {
                "key": "x",
                "title": "x",
                "max_points": 5,
                "children": [{"key": "x", "title": "y", "max_points": 5}],
            }
        )

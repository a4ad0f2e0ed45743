"""Monthly statistics (本期 / 本年累计): twelve months add up to the year and to the annual
report's table 三 and 四 for the same bureau and facts; channels, stocks, fees, outputs."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from gongkai_contracts.vocabulary import (
    ApplicantCategory,
    CaseResult,
    Channel,
    ItemCategory,
    ReplyOutcome,
)
from reporting_service.annual_report import layout as L
from reporting_service.annual_report.builder import build_annual_report
from reporting_service.annual_report.facts import (
    CaseFact,
    CaseFactKind,
    Facts,
    ItemFact,
    ItemFactKind,
    RequestFact,
    RequestFactKind,
)
from reporting_service.monthly_report.builder import MonthlyReport, build_monthly_report
from reporting_service.monthly_report.outputs import monthly_html, monthly_json

YEAR = 2026
T0 = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def random_facts(seed: int) -> Facts:
    """Requests received in the year before, the year and the year after; some closed (some
    dated before their receipt), fees, cases and catalogue items."""
    rng = random.Random(seed)
    requests: list[RequestFact] = []
    cases: list[CaseFact] = []
    items: list[ItemFact] = []
    n = 0

    def eid() -> str:
        nonlocal n
        n += 1
        return f"ev-{seed}-{n}"

    for i in range(rng.randrange(40, 90)):
        rid = f"R{i}"
        received = _day(rng, date(YEAR - 1, 9, 1), date(YEAR + 1, 2, 1))
        requests.append(
            RequestFact(
                eid(),
                rid,
                RequestFactKind.RECEIVED,
                received,
                T0,
                rng.choice([*ApplicantCategory, None]),
                rng.choice(list(Channel)),
            )
        )
        if rng.random() < 0.75:
            closed = received + timedelta(days=rng.randrange(-3, 60))
            requests.append(
                RequestFact(
                    eid(),
                    rid,
                    RequestFactKind.CLOSED,
                    closed,
                    T0,
                    outcome=rng.choice([*ReplyOutcome, None]),
                    on_time=rng.choice([True, False, None]),
                )
            )
        if rng.random() < 0.2:
            kind = rng.choice([RequestFactKind.FEE_NOTICED, RequestFactKind.FEE_PAID])
            requests.append(
                RequestFact(
                    eid(), rid, kind, received, T0, amount_yuan=Decimal(rng.randrange(1, 900))
                )
            )
        if rng.random() < 0.15:
            cid = f"C{i}"
            filed = received + timedelta(days=rng.randrange(10, 90))
            block = rng.choice(list(L.CaseBlock))
            cases.append(
                CaseFact(eid(), cid, CaseFactKind.FILED, filed, T0, block=block, request_id=rid)
            )
            if rng.random() < 0.6:
                cases.append(
                    CaseFact(
                        eid(),
                        cid,
                        CaseFactKind.DECIDED,
                        filed + timedelta(days=rng.randrange(-5, 120)),
                        T0,
                        result=rng.choice(list(CaseResult)),
                    )
                )
    for i in range(rng.randrange(10, 40)):
        category = rng.choice(list(ItemCategory))
        published = _day(rng, date(YEAR - 1, 11, 1), date(YEAR + 1, 1, 31))
        items.append(ItemFact(eid(), f"I{i}", ItemFactKind.DRAFTED, category, published, T0))
        items.append(
            ItemFact(
                eid(),
                f"I{i}",
                ItemFactKind.PUBLISHED,
                category,
                published,
                T0,
                item_version=1,
                first_publication=True,
            )
        )
    return Facts(requests=requests, cases=cases, items=items)


def months(facts: Facts) -> list[MonthlyReport]:
    return [build_monthly_report("b", YEAR, m, facts) for m in range(1, 13)]


@pytest.mark.parametrize("seed", range(12))
def test_twelve_months_add_up_to_the_year_and_to_the_annual_report(seed: int) -> None:
    facts = random_facts(seed)
    reports = months(facts)
    december = reports[-1]
    annual = build_annual_report("b", YEAR, facts)
    for line in december.lines:
        if line.stock:
            continue
        this_periods = [r.line(line.key).this_period for r in reports]
        assert sum(this_periods) == line.year_to_date, line.key
        # 本年累计 of each month is the running sum of 本期.
        running = [r.line(line.key).year_to_date for r in reports]
        assert running == [sum(this_periods[: i + 1]) for i in range(12)], line.key

    def total(key: str) -> int | Decimal:
        return sum(r.line(key).this_period for r in reports)

    # Table 三 row 一 (本年新收), every applicant column and 总计.
    assert total("requests.received.total") == annual.requests.count(L.ROW_NEW, L.TOTAL_KEY)
    for applicant in ApplicantCategory:
        assert total(f"requests.received.applicant.{applicant.value}") == annual.requests.count(
            L.ROW_NEW, applicant.value
        )
    assert sum(total(f"requests.received.channel.{c.value}") for c in Channel) == total(
        "requests.received.total"
    )
    # Table 三 三 (本年度办理结果) row by row, and （七）总计.
    for outcome in ReplyOutcome:
        assert total(f"requests.closed.outcome.{outcome.value}") == annual.requests.count(
            outcome.value, L.TOTAL_KEY
        )
    assert total("requests.closed.total") == annual.requests.count(L.ROW_TOTAL, L.TOTAL_KEY)
    # 月末尚未办结 in December is table 三 四 (结转下年度继续办理).
    assert december.line("requests.open_at_end").this_period == annual.requests.count(
        L.ROW_CARRIED_OUT, L.TOTAL_KEY
    )
    # Table 四: cases decided in the year, by block.
    decided = sum(
        annual.cases.count(L.CaseBlock.RECONSIDERATION.value, key) for key, _ in L.CASE_COLUMNS[:3]
    )
    assert total("cases.reconsideration.decided") == decided


def test_a_month_counts_its_own_events_by_channel_applicant_outcome_and_fees() -> None:
    at = T0
    facts = Facts(
        requests=[
            RequestFact(
                "e1",
                "A",
                RequestFactKind.RECEIVED,
                date(YEAR, 3, 2),
                at,
                ApplicantCategory.COMMERCIAL_ENTERPRISE,
                Channel.LETTER,
            ),
            RequestFact(
                "e2", "B", RequestFactKind.RECEIVED, date(YEAR, 3, 31), at, None, Channel.ONLINE
            ),
            RequestFact(
                "e3",
                "A",
                RequestFactKind.CLOSED,
                date(YEAR, 4, 1),
                at,
                outcome=ReplyOutcome.DISCLOSED,
                on_time=False,
            ),
            RequestFact(
                "e4", "A", RequestFactKind.FEE_PAID, date(YEAR, 3, 20), at, amount_yuan=Decimal(50)
            ),
        ]
    )
    march = build_monthly_report("b", YEAR, 3, facts)
    april = build_monthly_report("b", YEAR, 4, facts)
    assert march.line("requests.received.total").this_period == 2
    assert march.line("requests.received.channel.letter").this_period == 1
    assert march.line("requests.received.applicant.natural_person").this_period == 1
    assert march.line("requests.open_at_end").this_period == 2
    assert march.line("fees.paid.yuan").this_period == Decimal("50.00")
    assert april.line("requests.received.total").this_period == 0
    assert april.line("requests.received.total").year_to_date == 2
    assert april.line("requests.closed.outcome.disclosed").this_period == 1
    assert april.line("requests.replied.late").this_period == 1
    assert april.line("requests.open_at_end").year_to_date == 1
    figures = april.figures()
    assert figures["fees.paid.yuan:year_to_date"] == "50.00"
    assert figures["requests.received.total:this_period"] == 0


def test_outputs_carry_the_chinese_labels() -> None:
    report = build_monthly_report("b", YEAR, 5, random_facts(1))
    body = monthly_json(report)
    assert body["tables"]["二、收到政府信息公开申请（按申请渠道）"]["信函"].keys() == {
        "本期",
        "本年累计",
    }
    page = monthly_html(report)
    assert "b2026年5月政府信息公开工作统计月报" in page
    assert "本年累计" in page and "月末尚未办结" in page
    assert "http" not in page  # self-contained

"""A request's lifecycle: given its events, when a command, then new events or a named error.
Dates are worked out by hand against the 2026 calendar (清明 4月4日–6日)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gongkai_contracts import Event
from gongkai_contracts.events import (
    ConsultationEnded,
    CorrectionReceived,
    CorrectionRequested,
    DeadlineExtended,
    DeadlineRecomputed,
    FeeNoticed,
    FeePaid,
    ReplySent,
)
from gongkai_contracts.vocabulary import ApplicantCategory, Channel, ReplyOutcome
from gongkai_platform.calendar import WorkingCalendar, YearCalendar
from gongkai_platform.errors import DomainError, TransitionError
from requests_service.domain.fees import FeeScheme
from requests_service.domain.request import RegisterRequest, Request, Status, apply, register

CAL = WorkingCalendar()
RECEIVED = date(2026, 3, 3)  # Tuesday; 20th working day after it: 2026-03-31


def given(*commands: object) -> tuple[Request, list[Event]]:
    history: list[Event] = list(
        register(
            RegisterRequest(
                bureau_id="b",
                request_id="r1",
                channel=Channel.ONLINE,
                applicant_category=ApplicantCategory.COMMERCIAL_ENTERPRISE,
                applicant_ref="a",
                received_on=RECEIVED,
                description="政府信息",
            ),
            today=date(2026, 11, 27),
            history=[],
            calendar=CAL,
        )
    )
    state = Request.fold(history)
    assert state is not None
    for step in commands:
        new = step(state)  # type: ignore[operator]
        history += new
        for event in new:
            state = apply(state, event)
    return state, history


def test_registered_request_runs_its_clock() -> None:
    state, _ = given()
    assert (state.status, state.due_on, state.due_provisional) == (
        Status.IN_PROGRESS,
        date(2026, 3, 31),
        False,
    )


def test_correction_stops_the_clock_and_restarts_it_from_the_corrected_request() -> None:
    state, history = given(
        lambda s: s.request_correction(date(2026, 3, 5), date(2026, 3, 20), "写明文号", CAL)
    )
    assert isinstance(history[-1], CorrectionRequested)
    assert not history[-1].notice_late  # within 7 working days (due 2026-03-12)
    assert (state.status, state.due_on) == (Status.AWAITING_CORRECTION, None)
    state, history = given(
        lambda s: s.request_correction(date(2026, 3, 5), date(2026, 3, 20), "写明文号", CAL),
        lambda s: s.receive_correction(date(2026, 3, 10), CAL),
    )
    # 20 working days after 03-10, skipping 清明 (04-06 Monday): 2026-04-08.
    assert isinstance(history[-1], CorrectionReceived)
    assert (state.status, state.due_on) == (Status.IN_PROGRESS, date(2026, 4, 8))


def test_a_correction_notice_is_sent_once() -> None:
    state, _ = given(
        lambda s: s.request_correction(date(2026, 3, 5), date(2026, 3, 20), "写明文号", CAL),
        lambda s: s.receive_correction(date(2026, 3, 10), CAL),
    )
    with pytest.raises(TransitionError, match="already requested"):
        state.request_correction(date(2026, 3, 11), date(2026, 3, 25), "再补正", CAL)


def test_a_late_correction_notice_is_flagged() -> None:
    _, history = given(
        lambda s: s.request_correction(date(2026, 3, 13), date(2026, 3, 27), "写明文号", CAL)
    )
    assert isinstance(history[-1], CorrectionRequested) and history[-1].notice_late


def test_correction_lapse_needs_the_period_to_have_passed_and_closes_the_request() -> None:
    state, _ = given(
        lambda s: s.request_correction(date(2026, 3, 5), date(2026, 3, 20), "写明文号", CAL)
    )
    with pytest.raises(DomainError) as early:
        state.lapse_correction(date(2026, 3, 20), date(2026, 3, 20))
    assert early.value.field == "lapsed_on"
    state, _ = given(
        lambda s: s.request_correction(date(2026, 3, 5), date(2026, 3, 20), "写明文号", CAL),
        lambda s: s.lapse_correction(date(2026, 3, 23), date(2026, 3, 20)),
    )
    assert (state.status, state.outcome) == (
        Status.CORRECTION_LAPSED,
        ReplyOutcome.OTHER_CORRECTION_LAPSED,
    )


def test_consultation_pauses_the_clock() -> None:
    state, history = given(
        lambda s: s.start_consultation(date(2026, 3, 5), "某公司", True, CAL),
    )
    assert (state.status, state.due_on) == (Status.CONSULTING, None)
    state, history = given(
        lambda s: s.start_consultation(date(2026, 3, 5), "某公司", True, CAL),
        lambda s: s.end_consultation(date(2026, 3, 11), CAL),
    )
    # Paused: 03-06, 03-09, 03-10, 03-11 (4 working days) → 03-31 moves 4 working days,
    # over 清明 04-06: 04-01, 04-02, 04-03, 04-07.
    assert isinstance(history[-1], ConsultationEnded)
    assert state.due_on == date(2026, 4, 7)


def test_extension_once_within_the_regime_limit_with_its_approver() -> None:
    state, history = given(lambda s: s.extend(20, "办公室主任 王某", date(2026, 3, 20), CAL))
    assert isinstance(history[-1], DeadlineExtended)
    assert history[-1].approved_by == "办公室主任 王某"
    assert state.due_on == date(2026, 4, 29)  # 40th working day after 03-03, 清明 skipped
    with pytest.raises(TransitionError, match="already extended"):
        state.extend(5, "王某", date(2026, 3, 21), CAL)
    fresh, _ = given()
    with pytest.raises(DomainError) as too_long:
        fresh.extend(21, "王某", date(2026, 3, 20), CAL)
    assert too_long.value.field == "working_days"


def test_fee_notice_pauses_until_payment() -> None:
    state, history = given(
        lambda s: s.notice_fee(FeeScheme.PER_PAGE, 150, 0, date(2026, 3, 5), CAL),
    )
    notice = history[-1]
    assert isinstance(notice, FeeNoticed)
    assert notice.amount_yuan == Decimal("1700.00")  # 70×10 + 50×20
    assert (state.status, state.due_on) == (Status.AWAITING_FEE, None)
    state, history = given(
        lambda s: s.notice_fee(FeeScheme.PER_PAGE, 150, 0, date(2026, 3, 5), CAL),
        lambda s: s.pay_fee(date(2026, 3, 11), CAL),
    )
    assert isinstance(history[-1], FeePaid)
    assert (state.status, state.due_on) == (Status.IN_PROGRESS, date(2026, 4, 7))


def test_a_free_request_gets_no_fee_notice() -> None:
    state, _ = given()
    with pytest.raises(DomainError) as free:
        state.notice_fee(FeeScheme.PER_ITEM, 1, 3, date(2026, 3, 5), CAL)
    assert free.value.field == "units"


def test_a_fee_beyond_what_can_be_recorded_is_refused_naming_the_units() -> None:
    # Found by schemathesis: 51,665 items in a month cost ~1.3e10 元 and overflowed the column.
    state, _ = given()
    with pytest.raises(DomainError) as absurd:
        state.notice_fee(FeeScheme.PER_ITEM, 51_665, 0, date(2026, 3, 5), CAL)
    assert absurd.value.field == "units"
    assert "check the number of items or pages" in absurd.value.message


def test_fee_lapse_closes_the_request() -> None:
    state, _ = given(
        lambda s: s.notice_fee(FeeScheme.PER_ITEM, 5, 10, date(2026, 3, 5), CAL),
        lambda s: s.lapse_fee(date(2026, 4, 3)),
    )
    assert (state.status, state.outcome) == (Status.FEE_LAPSED, ReplyOutcome.OTHER_FEE_LAPSED)


def test_only_an_approved_draft_is_sent() -> None:
    state, _ = given(
        lambda s: s.draft_reply("d1", ReplyOutcome.DISCLOSED, "条例 第三十六条 第二项", ""),
    )
    assert state.status is Status.AWAITING_REVIEW
    with pytest.raises(TransitionError, match="approved by confidentiality review"):
        state.send_reply(date(2026, 3, 20))
    state, history = given(
        lambda s: s.draft_reply("d1", ReplyOutcome.DISCLOSED, "条例 第三十六条 第二项", ""),
        lambda s: s.approve_draft("d1", "case-1"),
        lambda s: s.send_reply(date(2026, 3, 20)),
    )
    sent = history[-1]
    assert isinstance(sent, ReplySent)
    assert (sent.outcome, sent.on_time, sent.due_on) == (
        ReplyOutcome.DISCLOSED,
        True,
        date(2026, 3, 31),
    )
    assert sent.applicant_category is ApplicantCategory.COMMERCIAL_ENTERPRISE
    assert state.status is Status.REPLIED


def test_a_rejected_draft_goes_back_to_the_author_and_a_late_reply_is_late() -> None:
    _, history = given(
        lambda s: s.draft_reply("d1", ReplyOutcome.WITHHELD_STATE_SECRET, "第十四条", ""),
        lambda s: s.reject_draft("d1", "case-1", "理由不充分"),
        lambda s: s.draft_reply("d2", ReplyOutcome.PARTIALLY_DISCLOSED, "第三十七条", ""),
        lambda s: s.approve_draft("d2", "case-2"),
        lambda s: s.send_reply(date(2026, 4, 1)),
    )
    sent = history[-1]
    assert isinstance(sent, ReplySent)
    assert (sent.draft_id, sent.outcome, sent.on_time) == (
        "d2",
        ReplyOutcome.PARTIALLY_DISCLOSED,
        False,
    )


def test_an_approval_of_a_rejected_or_unknown_draft_changes_nothing_or_is_refused() -> None:
    state, _ = given(
        lambda s: s.draft_reply("d1", ReplyOutcome.DISCLOSED, "第三十六条", ""),
        lambda s: s.reject_draft("d1", "case-1", "不通过"),
    )
    assert state.approve_draft("d1", "case-1") == []
    with pytest.raises(TransitionError, match="no draft"):
        state.approve_draft("forged", "case-x")


def test_nothing_after_withdrawal() -> None:
    state, _ = given(lambda s: s.withdraw(date(2026, 3, 10)))
    assert (state.status, state.outcome) == (Status.WITHDRAWN, ReplyOutcome.OTHER)
    with pytest.raises(TransitionError, match="withdrawn"):
        state.draft_reply("d1", ReplyOutcome.DISCLOSED, "第三十六条", "")
    with pytest.raises(TransitionError):
        state.send_reply(date(2026, 3, 11))


def test_commands_cannot_predate_the_record() -> None:
    state, _ = given(lambda s: s.start_consultation(date(2026, 3, 10), "某局", False, CAL))
    with pytest.raises(DomainError) as early:
        state.end_consultation(date(2026, 3, 9), CAL)
    assert early.value.field == "ended_on"


def test_lapse_outcomes_are_not_drafted() -> None:
    state, _ = given()
    with pytest.raises(DomainError) as refused:
        state.draft_reply("d1", ReplyOutcome.OTHER_FEE_LAPSED, "109号", "")
    assert refused.value.field == "outcome"


def test_a_published_calendar_moves_a_provisional_deadline() -> None:
    late = RegisterRequest(
        bureau_id="b",
        request_id="r2",
        channel=Channel.ONLINE,
        applicant_category=ApplicantCategory.NATURAL_PERSON,
        applicant_ref="a",
        received_on=date(2026, 12, 15),
        description="政府信息",
    )
    [received] = register(late, today=date(2026, 12, 31), history=[], calendar=CAL)
    # 2026-12-16..31 gives 12 working days; 2027 is unknown: Mon–Fri from 01-01 (provisional):
    # 01-01 (13), 01-04..08 (18), 01-11 (19), 01-12 (20).
    assert (received.due_on, received.due_provisional) == (date(2027, 1, 12), True)
    state = Request.fold([received])
    assert state is not None
    calendar_2027 = CAL.with_published(
        YearCalendar(2027, frozenset({date(2027, 1, 1)}), frozenset())
    )
    [moved] = state.recompute(calendar_2027, 2027)
    assert isinstance(moved, DeadlineRecomputed)
    assert (moved.previous_due_on, moved.due_on, moved.due_provisional) == (
        date(2027, 1, 12),
        date(2027, 1, 13),
        False,
    )
    assert apply(state, moved).recompute(calendar_2027, 2027) == []


def test_case_decisions_map_to_table_four_results() -> None:
    from gongkai_contracts.events import LitigationDecided, ReconsiderationDecided
    from gongkai_contracts.vocabulary import CaseResult
    from requests_service.domain.case import Case, CaseKind, file_case

    filed = file_case(
        "c1",
        CaseKind.RECONSIDERATION,
        date(2025, 12, 1),
        "r1",
        today=date(2026, 11, 27),
        existing=[],
    )
    case = Case.fold(filed)
    assert case is not None and case.pending_at(date(2025, 12, 31))
    [decided] = case.decide(date(2026, 2, 1), "驳回")
    assert isinstance(decided, ReconsiderationDecided) and decided.result is CaseResult.UPHELD
    lawsuit = Case.fold(
        file_case(
            "c2",
            CaseKind.LITIGATION_AFTER_RECONSIDERATION,
            date(2026, 3, 1),
            None,
            today=date(2026, 11, 27),
            existing=[],
        )
    )
    assert lawsuit is not None
    for decision, result in [
        ("撤销", CaseResult.CORRECTED),
        ("确认违法", CaseResult.CORRECTED),
        ("调解", CaseResult.OTHER),
        ("终止", CaseResult.OTHER),
    ]:
        [event] = lawsuit.decide(date(2026, 4, 1), decision)
        assert isinstance(event, LitigationDecided) and event.result is result
    with pytest.raises(DomainError) as unknown:
        lawsuit.decide(date(2026, 4, 1), "不知道")
    assert unknown.value.field == "decision"
    done = Case.fold([*filed, decided])
    assert done is not None and not done.pending_at(date(2026, 12, 31))
    with pytest.raises(TransitionError):
        done.decide(date(2026, 3, 1), "撤销")

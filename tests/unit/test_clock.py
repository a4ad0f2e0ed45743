"""The statutory reply clock: regimes, restart, pauses, extension, provisional years, derivation.

Every expected date was counted by hand on the 放假安排 and checked against chinese_calendar.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gongkai_platform.calendar import WorkingCalendar, YearCalendar
from requests_service.domain.clock import (
    REGIME_2007,
    REGIME_2019,
    ClockFacts,
    Deadline,
    DerivationLine,
    LineKind,
    Pause,
    compute_deadline,
    consultation_answer_due,
    correction_notice_due,
    fee_payment_due,
    regime_for,
)

CALENDAR = WorkingCalendar()


def deadline(received_on: date, **facts: object) -> Deadline:
    return compute_deadline(ClockFacts(received_on, **facts), CALENDAR)  # type: ignore[arg-type]


def assert_one_line_per_day(result: Deadline) -> None:
    days = [line.day for line in result.lines]
    assert days[0] == result.start
    assert days == [result.start + timedelta(days=i) for i in range(len(days))]
    counts = [line.count for line in result.lines if line.count is not None]
    assert counts == list(range(1, len(counts) + 1))


# ---------------------------------------------------------------- regimes


def test_the_receipt_date_chooses_the_regime() -> None:
    assert regime_for(date(2008, 5, 1)) is REGIME_2007
    assert regime_for(date(2019, 5, 14)) is REGIME_2007
    assert regime_for(date(2019, 5, 15)) is REGIME_2019
    assert (REGIME_2007.base_days, REGIME_2007.max_extension_days) == (15, 15)
    assert (REGIME_2019.base_days, REGIME_2019.max_extension_days) == (20, 20)


def test_a_receipt_before_the_2007_regulation_is_refused() -> None:
    with pytest.raises(ValueError, match="before the 2007 regulation"):
        regime_for(date(2008, 4, 30))
    with pytest.raises(ValueError, match="before the 2007 regulation"):
        ClockFacts(date(2008, 4, 30))


def test_the_regime_boundary() -> None:
    # Tuesday 2019-05-14, 2007 regime, 15 days: 05-15..17 1–3, 05-20..24 4–8, 05-27..31 9–13,
    # 06-03 14, 06-04 15.
    before = deadline(date(2019, 5, 14))
    assert before.regime is REGIME_2007
    assert before.due_on == date(2019, 6, 4)
    # Wednesday 2019-05-15, 2019 regime, 20 days: 05-16..17 1–2, 05-20..24 3–7, 05-27..31 8–12,
    # 06-03..06 13–16, [06-07 端午], 06-10..13 17–20.
    after = deadline(date(2019, 5, 15))
    assert after.regime is REGIME_2019
    assert after.due_on == date(2019, 6, 13)


def test_the_2007_regime_over_national_day_2011() -> None:
    # Friday 2011-09-30. [10-01..07 国庆], 10-08 (Sat, 调休) 1, 10-09 (Sun, 调休) 2,
    # 10-10..14 3–7, 10-17..21 8–12, 10-24..26 13–15. Extension: 10-27..28 16–17,
    # 10-31..11-04 18–22, 11-07..11 23–27, 11-14..16 28–30.
    result = deadline(date(2011, 9, 30), extension_days=15)
    assert result.regime is REGIME_2007
    assert result.base_due_on == date(2011, 10, 26)
    assert result.due_on == date(2011, 11, 16)
    kinds = {line.day: line.kind for line in result.lines}
    assert kinds[date(2011, 10, 8)] is LineKind.MAKE_UP_WORKDAY
    assert kinds[date(2011, 10, 9)] is LineKind.MAKE_UP_WORKDAY
    assert_one_line_per_day(result)


# ---------------------------------------------------------------- ordinary deadlines


def test_receipt_on_a_weekday() -> None:
    # Monday 2025-03-03: 03-04..07 1–4, 03-10..14 5–9, 03-17..21 10–14, 03-24..28 15–19, 03-31 20.
    result = deadline(date(2025, 3, 3))
    assert result.regime is REGIME_2019
    assert result.start == date(2025, 3, 3)
    assert result.base_due_on == result.due_on == date(2025, 3, 31)
    assert (result.extension_days, result.provisional, result.paused) == (0, False, False)


def test_receipt_on_a_saturday_before_national_day_2024() -> None:
    # The trap: the 20th working day after Saturday 2024-09-28 is 10-30 (find_workday says 10-31).
    assert deadline(date(2024, 9, 28)).due_on == date(2024, 10, 30)


def test_receipt_on_a_holiday() -> None:
    assert deadline(date(2024, 10, 1)).due_on == date(2024, 11, 1)


def test_national_day_2025_with_mid_autumn() -> None:
    # Friday 2025-09-26. 09-28 (Sun, 调休) 1, 09-29..30 2–3, [10-01..08 国庆·中秋], 10-09..10 4–5,
    # 10-11 (Sat, 调休) 6, 10-13..17 7–11, 10-20..24 12–16, 10-27..30 17–20.
    result = deadline(date(2025, 9, 26))
    assert result.due_on == date(2025, 10, 30)
    notes = {line.day: line.note for line in result.lines}
    assert notes[date(2025, 10, 6)] == "中秋节"
    assert notes[date(2025, 10, 8)] == "国庆节"


def test_spring_festival_2025_with_the_full_extension() -> None:
    # Monday 2025-01-20. 01-21..24 1–4, 01-26 (Sun, 调休) 5, 01-27 6, [01-28..02-04 春节],
    # 02-05..07 7–9, 02-08 (Sat, 调休) 10, 02-10..14 11–15, 02-17..21 16–20.
    # Extension: 02-24..28 21–25, 03-03..07 26–30, 03-10..14 31–35, 03-17..21 36–40.
    result = deadline(date(2025, 1, 20), extension_days=20)
    assert result.base_due_on == date(2025, 2, 21)
    assert result.due_on == date(2025, 3, 21)
    assert result.extension_days == 20
    by_day = {line.day: line for line in result.lines}
    assert by_day[date(2025, 2, 21)] == DerivationLine(
        date(2025, 2, 21), LineKind.COUNTED, 20, "第20个工作日，原答复期限届满"
    )
    assert by_day[date(2025, 2, 24)] == DerivationLine(
        date(2025, 2, 24), LineKind.EXTENSION, 21, "第21个工作日（延长期限第1日）"
    )
    assert by_day[date(2025, 3, 21)] == DerivationLine(
        date(2025, 3, 21),
        LineKind.DUE,
        40,
        "第40个工作日（延长期限第20日），延长后的答复期限届满",
    )
    assert by_day[date(2025, 1, 28)].kind is LineKind.HOLIDAY
    assert by_day[date(2025, 1, 28)].note == "春节"
    assert result.lines[-1].day == date(2025, 3, 21)
    assert_one_line_per_day(result)


def test_a_partial_extension() -> None:
    # Monday 2025-03-03, base due 03-31; 5 more: 04-01..03 21–23, [04-04..06 清明], 04-07..08 24–25.
    result = deadline(date(2025, 3, 3), extension_days=5)
    assert (result.base_due_on, result.due_on) == (date(2025, 3, 31), date(2025, 4, 8))


@pytest.mark.parametrize(
    ("received_on", "extension_days", "message"),
    [
        (date(2025, 3, 3), 21, "exceeds the 2019 regulation's maximum of 20"),
        (date(2011, 9, 30), 16, "exceeds the 2007 regulation's maximum of 15"),
        (date(2025, 3, 3), -1, "negative"),
    ],
)
def test_an_extension_beyond_the_limit_is_refused(
    received_on: date, extension_days: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ClockFacts(received_on, extension_days=extension_days)


def test_without_pauses_the_deadline_is_the_calendars_nth_working_day() -> None:
    day = date(2025, 1, 1)
    while day.year == 2025:
        assert deadline(day).due_on == CALENDAR.working_day_after(day, 20)[0], day
        day += timedelta(days=7)


# ---------------------------------------------------------------- the full derivation


def test_the_derivation_of_a_saturday_receipt_line_by_line() -> None:
    result = deadline(date(2024, 9, 28))
    expected: list[tuple[date, LineKind, int | None]] = [
        (date(2024, 9, 28), LineKind.RECEIVED, None),  # Saturday, not counted
        (date(2024, 9, 29), LineKind.MAKE_UP_WORKDAY, 1),  # Sunday, 调休上班
        (date(2024, 9, 30), LineKind.COUNTED, 2),
        (date(2024, 10, 1), LineKind.HOLIDAY, None),  # 国庆节 1–3
        (date(2024, 10, 2), LineKind.HOLIDAY, None),
        (date(2024, 10, 3), LineKind.HOLIDAY, None),
        (date(2024, 10, 4), LineKind.HOLIDAY, None),  # Friday, 调休 rest day
        (date(2024, 10, 5), LineKind.WEEKEND, None),
        (date(2024, 10, 6), LineKind.WEEKEND, None),
        (date(2024, 10, 7), LineKind.HOLIDAY, None),  # Monday, 调休 rest day
        (date(2024, 10, 8), LineKind.COUNTED, 3),
        (date(2024, 10, 9), LineKind.COUNTED, 4),
        (date(2024, 10, 10), LineKind.COUNTED, 5),
        (date(2024, 10, 11), LineKind.COUNTED, 6),
        (date(2024, 10, 12), LineKind.MAKE_UP_WORKDAY, 7),  # Saturday, 调休上班
        (date(2024, 10, 13), LineKind.WEEKEND, None),
        (date(2024, 10, 14), LineKind.COUNTED, 8),
        (date(2024, 10, 15), LineKind.COUNTED, 9),
        (date(2024, 10, 16), LineKind.COUNTED, 10),
        (date(2024, 10, 17), LineKind.COUNTED, 11),
        (date(2024, 10, 18), LineKind.COUNTED, 12),
        (date(2024, 10, 19), LineKind.WEEKEND, None),
        (date(2024, 10, 20), LineKind.WEEKEND, None),
        (date(2024, 10, 21), LineKind.COUNTED, 13),
        (date(2024, 10, 22), LineKind.COUNTED, 14),
        (date(2024, 10, 23), LineKind.COUNTED, 15),
        (date(2024, 10, 24), LineKind.COUNTED, 16),
        (date(2024, 10, 25), LineKind.COUNTED, 17),
        (date(2024, 10, 26), LineKind.WEEKEND, None),
        (date(2024, 10, 27), LineKind.WEEKEND, None),
        (date(2024, 10, 28), LineKind.COUNTED, 18),
        (date(2024, 10, 29), LineKind.COUNTED, 19),
        (date(2024, 10, 30), LineKind.DUE, 20),
    ]
    assert [(line.day, line.kind, line.count) for line in result.lines] == expected
    notes = {line.day: line.note for line in result.lines}
    assert notes[date(2024, 9, 28)] == "收到申请之日，当日不计入，次日起算"
    assert notes[date(2024, 9, 29)] == "调休上班（国庆节），第1个工作日"
    assert notes[date(2024, 10, 1)] == "国庆节"
    assert notes[date(2024, 10, 5)] == "星期六，国庆节"
    assert notes[date(2024, 10, 13)] == "星期日"
    assert notes[date(2024, 10, 14)] == "第8个工作日"
    assert notes[date(2024, 10, 30)] == "第20个工作日，答复期限届满"
    text = result.explain()
    assert text.splitlines()[0].startswith("2024-09-28 星期六 received")
    assert len(text.splitlines()) == len(expected)


# ---------------------------------------------------------------- restart (补正)


def test_a_correction_restarts_the_clock_from_zero() -> None:
    # Received Monday 2025-03-03 (due 03-31 without correction). The corrected request arrives
    # Monday 03-10: 03-11..14 1–4, 03-17..21 5–9, 03-24..28 10–14, 03-31..04-03 15–18,
    # [04-04..06 清明], 04-07 19, 04-08 20. The consultation before the restart no longer counts.
    result = deadline(
        date(2025, 3, 3),
        restarted_on=date(2025, 3, 10),
        pauses=(Pause(date(2025, 3, 4), date(2025, 3, 6)),),
    )
    assert result.start == date(2025, 3, 10)
    assert result.due_on == date(2025, 4, 8)
    assert result.lines[0] == DerivationLine(
        date(2025, 3, 10),
        LineKind.RESTART,
        None,
        "收到补正后的申请之日，答复期限重新计算，当日不计入",
    )
    assert_one_line_per_day(result)


def test_the_regime_stays_the_receipts_after_a_restart() -> None:
    result = deadline(date(2019, 5, 10), restarted_on=date(2019, 5, 20))
    assert result.regime is REGIME_2007


def test_a_restart_before_the_receipt_is_refused() -> None:
    with pytest.raises(ValueError, match="before the date of receipt"):
        ClockFacts(date(2025, 3, 3), restarted_on=date(2025, 3, 2))


# ---------------------------------------------------------------- pauses (征求意见)


def test_a_consultation_pauses_the_working_days_after_it_is_sent_until_the_answer() -> None:
    # Received Monday 2025-03-03; consultation sent Wednesday 03-05, answer Tuesday 03-11.
    # 03-04 1, 03-05 2 (the sending day counts), paused: 03-06, 03-07, 03-10, 03-11 (03-08/09 are
    # a weekend anyway); 03-12..14 3–5, 03-17..21 6–10, 03-24..28 11–15, 03-31..04-03 16–19,
    # [04-04..06 清明], 04-07 20. Four working days later than 03-31, across 清明.
    result = deadline(date(2025, 3, 3), pauses=(Pause(date(2025, 3, 5), date(2025, 3, 11)),))
    assert result.due_on == date(2025, 4, 7)
    assert not result.paused
    paused = [line.day for line in result.lines if line.kind is LineKind.PAUSED]
    assert paused == [date(2025, 3, 6), date(2025, 3, 7), date(2025, 3, 10), date(2025, 3, 11)]
    by_day = {line.day: line for line in result.lines}
    assert by_day[date(2025, 3, 5)].count == 2
    assert by_day[date(2025, 3, 8)].kind is LineKind.WEEKEND
    assert by_day[date(2025, 3, 12)].count == 3
    assert by_day[date(2025, 3, 6)].note == "征求第三方或其他机关意见，不计入期限"
    assert_one_line_per_day(result)


def test_the_2007_regime_names_only_the_third_party() -> None:
    result = deadline(date(2011, 9, 30), pauses=(Pause(date(2011, 10, 10), date(2011, 10, 11)),))
    # 10-11 paused: 15 days end one working day later than 10-26.
    assert result.due_on == date(2011, 10, 27)
    [line] = [line for line in result.lines if line.kind is LineKind.PAUSED]
    assert line == DerivationLine(
        date(2011, 10, 11), LineKind.PAUSED, None, "征求第三方意见，不计入期限"
    )


def test_overlapping_pauses_pause_the_union_of_their_days() -> None:
    one = deadline(date(2025, 3, 3), pauses=(Pause(date(2025, 3, 5), date(2025, 3, 11)),))
    two = deadline(
        date(2025, 3, 3),
        pauses=(
            Pause(date(2025, 3, 5), date(2025, 3, 7)),
            Pause(date(2025, 3, 6), date(2025, 3, 11)),
        ),
    )
    assert one.due_on == two.due_on == date(2025, 4, 7)


def test_an_answer_on_the_day_the_consultation_is_sent_pauses_nothing() -> None:
    result = deadline(date(2025, 3, 3), pauses=(Pause(date(2025, 3, 5), date(2025, 3, 5)),))
    assert result.due_on == date(2025, 3, 31)


def test_an_open_consultation_leaves_the_deadline_unknown() -> None:
    result = deadline(date(2025, 3, 3), pauses=(Pause(date(2025, 3, 5), None),))
    assert result.paused
    assert (result.base_due_on, result.due_on) == (None, None)
    assert [(line.day, line.kind, line.count) for line in result.lines] == [
        (date(2025, 3, 3), LineKind.RECEIVED, None),
        (date(2025, 3, 4), LineKind.COUNTED, 1),
        (date(2025, 3, 5), LineKind.COUNTED, 2),
        (date(2025, 3, 6), LineKind.PAUSED, None),
    ]
    assert result.lines[-1].note == "征求意见尚未结束，自此日起暂停计算，期限待定"
    # The answer arrives: the same facts with the end give the date again.
    closed = deadline(date(2025, 3, 3), pauses=(Pause(date(2025, 3, 5), date(2025, 3, 11)),))
    assert closed.due_on == date(2025, 4, 7)


def test_an_open_consultation_during_the_extension_keeps_the_base_date() -> None:
    result = deadline(date(2025, 3, 3), extension_days=5, pauses=(Pause(date(2025, 3, 31), None),))
    assert result.base_due_on == date(2025, 3, 31)
    assert result.due_on is None
    assert result.paused


def test_a_consultation_begun_on_the_due_date_cannot_revive_the_period() -> None:
    result = deadline(date(2025, 3, 3), pauses=(Pause(date(2025, 3, 31), None),))
    assert result.due_on == date(2025, 3, 31)
    assert not result.paused


def test_an_open_consultation_still_running_at_a_restart_keeps_the_clock_stopped() -> None:
    result = deadline(
        date(2025, 3, 3), restarted_on=date(2025, 3, 10), pauses=(Pause(date(2025, 3, 5), None),)
    )
    assert result.paused
    assert [line.kind for line in result.lines] == [LineKind.RESTART, LineKind.PAUSED]


def test_impossible_pauses_are_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Pause(date(2025, 3, 5), date(2025, 3, 4))
    with pytest.raises(ValueError, match="before the date of receipt"):
        ClockFacts(date(2025, 3, 3), pauses=(Pause(date(2025, 3, 2), date(2025, 3, 4)),))


# ---------------------------------------------------------------- unknown years


def test_a_deadline_in_an_unpublished_year_is_provisional_then_moves_when_published() -> None:
    # Monday 2027-01-04, provisional Monday to Friday: 01-05..08 1–4, 01-11..15 5–9,
    # 01-18..22 10–14, 01-25..29 15–19, 02-01 20.
    provisional = deadline(date(2027, 1, 4))
    assert provisional.due_on == date(2027, 2, 1)
    assert provisional.provisional
    assert provisional.lines[-1].note.endswith("（暂定：该年放假安排未知，按周一至周五计算）")
    # Published: 01-14 and 01-15 off, Saturday 01-09 worked. 01-05..08 1–4, 01-09 5,
    # 01-11..13 6–8, [01-14..15], 01-18..22 9–13, 01-25..29 14–18, 02-01 19, 02-02 20.
    published = YearCalendar(
        2027, frozenset({date(2027, 1, 14), date(2027, 1, 15)}), frozenset({date(2027, 1, 9)})
    )
    final = compute_deadline(ClockFacts(date(2027, 1, 4)), CALENDAR.with_published(published))
    assert final.due_on == date(2027, 2, 2)
    assert not final.provisional
    by_day = {line.day: line for line in final.lines}
    assert (by_day[date(2027, 1, 9)].kind, by_day[date(2027, 1, 9)].count) == (
        LineKind.MAKE_UP_WORKDAY,
        5,
    )
    assert by_day[date(2027, 1, 9)].note == "调休上班，第5个工作日"
    assert by_day[date(2027, 1, 14)].kind is LineKind.HOLIDAY
    assert by_day[date(2027, 1, 14)].note == "放假（公布的放假安排）"


def test_a_deadline_from_2026_into_2027_is_provisional() -> None:
    # Tuesday 2026-12-15: 12-16..18 1–3, 12-21..25 4–8, 12-28..31 9–12, 2027-01-01 (Friday,
    # provisionally a working day) 13, 01-04..08 14–18, 01-11 19, 01-12 20.
    result = deadline(date(2026, 12, 15))
    assert result.due_on == date(2027, 1, 12)
    assert result.provisional
    by_day = {line.day: line for line in result.lines}
    assert not by_day[date(2026, 12, 31)].note.endswith("按周一至周五计算）")
    assert by_day[date(2027, 1, 1)].count == 13


def test_a_deadline_ending_on_the_last_day_of_a_known_year_is_not_provisional() -> None:
    # Tuesday 2026-12-01: 12-02..04 1–3, 12-07..11 4–8, 12-14..18 9–13, 12-21..25 14–18,
    # 12-28..29 19–20.
    result = deadline(date(2026, 12, 1))
    assert result.due_on == date(2026, 12, 29)
    assert not result.provisional


# ---------------------------------------------------------------- other statutory periods


def test_the_correction_notice_is_due_within_7_working_days() -> None:
    # Saturday 2024-09-28: 09-29 1, 09-30 2, 10-08..11 3–6, 10-12 (Saturday, 调休上班) 7.
    assert correction_notice_due(date(2024, 9, 28), CALENDAR) == (date(2024, 10, 12), False)


def test_a_third_party_answers_within_15_working_days() -> None:
    # Monday 2025-01-20: 01-21..24 1–4, 01-26 5, 01-27 6, 02-05..07 7–9, 02-08 10, 02-10..14 11–15.
    assert consultation_answer_due(date(2025, 1, 20), CALENDAR) == (date(2025, 2, 14), False)


def test_a_fee_is_payable_within_20_working_days() -> None:
    assert fee_payment_due(date(2025, 1, 20), CALENDAR) == (date(2025, 2, 21), False)
    assert fee_payment_due(date(2026, 12, 15), CALENDAR) == (date(2027, 1, 12), True)

"""The working-day calendar: package years, published years, provisional years, counting."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar  # type: ignore[import-untyped]
import pytest

from gongkai_platform.calendar import DayKind, WorkingCalendar, YearCalendar

CALENDAR = WorkingCalendar()

# A made-up 2027 (chinesecalendar 1.11.0 stops at 2026): Thursday 14 and Friday 15 January off,
# Saturday 9 January a working day.
PUBLISHED_2027 = YearCalendar(
    year=2027,
    holidays=frozenset({date(2027, 1, 14), date(2027, 1, 15)}),
    make_up_workdays=frozenset({date(2027, 1, 9)}),
)


# ---------------------------------------------------------------- YearCalendar


def test_a_year_calendar_accepts_weekday_holidays_and_weekend_make_up_days() -> None:
    assert PUBLISHED_2027.year == 2027
    assert date(2027, 1, 14) in PUBLISHED_2027.holidays


def test_a_year_calendar_keeps_frozensets_when_given_the_tuples_of_an_event() -> None:
    published = YearCalendar(
        year=2027,
        holidays=(date(2027, 1, 1),),  # type: ignore[arg-type]
        make_up_workdays=(),  # type: ignore[arg-type]
    )
    assert published.holidays == frozenset({date(2027, 1, 1)})
    assert isinstance(published.make_up_workdays, frozenset)


@pytest.mark.parametrize(
    ("holidays", "make_up_workdays", "message"),
    [
        ({date(2028, 1, 3)}, set(), "holiday 2028-01-03 is not in the calendar's year 2027"),
        (set(), {date(2026, 12, 26)}, "make-up workday 2026-12-26 is not in the calendar's year"),
        ({date(2027, 1, 2)}, set(), "holiday 2027-01-02 is a Saturday"),
        (set(), {date(2027, 1, 4)}, "make-up workday 2027-01-04 is a Monday"),
        ({datetime(2027, 1, 4, 9)}, set(), "is not a date"),
    ],
)
def test_a_year_calendar_refuses_impossible_days(
    holidays: set[date], make_up_workdays: set[date], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        YearCalendar(2027, frozenset(holidays), frozenset(make_up_workdays))


# ---------------------------------------------------------------- day kinds


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2024, 9, 27), DayKind.WORKDAY),  # Friday
        (date(2024, 9, 28), DayKind.WEEKEND),  # Saturday
        (date(2024, 9, 29), DayKind.MAKE_UP_WORKDAY),  # Sunday, 调休上班 for 国庆节
        (date(2024, 10, 1), DayKind.HOLIDAY),  # Tuesday, 国庆节
        (date(2024, 10, 5), DayKind.WEEKEND),  # Saturday inside the 国庆 break
        (date(2024, 10, 7), DayKind.HOLIDAY),  # Monday, 调休 rest day
        (date(2024, 10, 8), DayKind.WORKDAY),  # Tuesday, back to work
        (date(2024, 10, 12), DayKind.MAKE_UP_WORKDAY),  # Saturday, 调休上班
        (date(2025, 1, 28), DayKind.HOLIDAY),  # 除夕, 春节 (4 days from 2025)
        (date(2025, 2, 8), DayKind.MAKE_UP_WORKDAY),  # Saturday after 春节
    ],
)
def test_day_kinds_of_a_year_the_package_knows(day: date, kind: DayKind) -> None:
    assert CALENDAR.day_kind(day) == (kind, False)
    assert CALENDAR.is_workday(day) == chinese_calendar.is_workday(day)


def test_an_unknown_year_is_provisional_monday_to_friday() -> None:
    assert not CALENDAR.knows(2027)
    assert CALENDAR.knows(2026)
    assert CALENDAR.knows(2004)
    with pytest.raises(NotImplementedError):  # why the calendar must not ask the package
        chinese_calendar.is_workday(date(2027, 1, 1))
    # 2027-01-01 is a Friday: surely 元旦, but nobody has published 2027 yet.
    assert CALENDAR.day_kind(date(2027, 1, 1)) == (DayKind.WORKDAY, True)
    assert CALENDAR.day_kind(date(2027, 1, 2)) == (DayKind.WEEKEND, True)
    assert CALENDAR.is_workday(date(2027, 1, 1))


def test_a_published_year_is_known_and_not_provisional() -> None:
    calendar = CALENDAR.with_published(PUBLISHED_2027)
    assert calendar.knows(2027)
    assert calendar.day_kind(date(2027, 1, 14)) == (DayKind.HOLIDAY, False)
    assert calendar.day_kind(date(2027, 1, 9)) == (DayKind.MAKE_UP_WORKDAY, False)
    assert calendar.day_kind(date(2027, 1, 10)) == (DayKind.WEEKEND, False)
    assert calendar.day_kind(date(2027, 1, 13)) == (DayKind.WORKDAY, False)


def test_with_published_answers_a_new_calendar_and_leaves_the_old_one_alone() -> None:
    calendar = CALENDAR.with_published(PUBLISHED_2027)
    assert calendar is not CALENDAR
    assert not CALENDAR.knows(2027)
    assert CALENDAR.day_kind(date(2027, 1, 14)) == (DayKind.WORKDAY, True)


def test_a_published_year_overrides_the_package() -> None:
    # Say the central office moves a 2026 day: Monday 2 March off, Saturday 7 March worked.
    assert CALENDAR.day_kind(date(2026, 3, 2)) == (DayKind.WORKDAY, False)
    calendar = WorkingCalendar(
        [YearCalendar(2026, frozenset({date(2026, 3, 2)}), frozenset({date(2026, 3, 7)}))]
    )
    assert calendar.day_kind(date(2026, 3, 2)) == (DayKind.HOLIDAY, False)
    assert calendar.day_kind(date(2026, 3, 7)) == (DayKind.MAKE_UP_WORKDAY, False)
    # The published year replaces the package's whole year: its 国庆 days are not listed here.
    assert calendar.day_kind(date(2026, 10, 1)) == (DayKind.WORKDAY, False)


def test_the_last_publication_of_a_year_wins() -> None:
    first = YearCalendar(2027, frozenset({date(2027, 1, 1)}), frozenset())
    second = YearCalendar(2027, frozenset({date(2027, 1, 4)}), frozenset())
    calendar = WorkingCalendar([first, second])
    assert calendar.is_workday(date(2027, 1, 1))
    assert not calendar.is_workday(date(2027, 1, 4))
    assert not WorkingCalendar([first]).with_published(second).is_workday(date(2027, 1, 4))


def test_holiday_names_come_from_the_package_in_chinese() -> None:
    assert CALENDAR.holiday_name(date(2024, 10, 1)) == "国庆节"
    assert CALENDAR.holiday_name(date(2024, 10, 5)) == "国庆节"  # a weekend in the break
    assert CALENDAR.holiday_name(date(2024, 10, 12)) == "国庆节"  # the 调休 Saturday
    assert CALENDAR.holiday_name(date(2025, 1, 28)) == "春节"
    assert CALENDAR.holiday_name(date(2025, 10, 6)) == "中秋节"
    assert CALENDAR.holiday_name(date(2024, 10, 8)) is None
    assert CALENDAR.holiday_name(date(2027, 1, 1)) is None
    overridden = WorkingCalendar([YearCalendar(2024, frozenset(), frozenset())])
    assert overridden.holiday_name(date(2024, 10, 1)) is None  # published: an ordinary Tuesday


# ---------------------------------------------------------------- counting


def test_the_20th_working_day_after_a_saturday_is_not_find_workdays_answer() -> None:
    # Saturday 2024-09-28. Counted: 9-29 (Sun, 调休) 1, 9-30 2, [10-01..10-07 国庆], 10-08..10-11
    # 3–6, 10-12 (Sat, 调休) 7, 10-14..18 8–12, 10-21..25 13–17, 10-28 18, 10-29 19, 10-30 20.
    assert CALENDAR.working_day_after(date(2024, 9, 28), 20) == (date(2024, 10, 30), False)
    # The trap: find_workday counts one more when the start day is a rest day.
    assert chinese_calendar.find_workday(20, date(2024, 9, 28)) == date(2024, 10, 31)


def test_the_20th_working_day_after_a_holiday() -> None:
    # 2024-10-01 (国庆): 10-08..11 1–4, 10-12 5, 10-14..18 6–10, 10-21..25 11–15, 10-28..31
    # 16–19, 11-01 20. find_workday would say 11-04.
    assert CALENDAR.working_day_after(date(2024, 10, 1), 20) == (date(2024, 11, 1), False)
    assert chinese_calendar.find_workday(20, date(2024, 10, 1)) == date(2024, 11, 4)


def test_working_day_after_a_weekday_and_n_of_one() -> None:
    assert CALENDAR.working_day_after(date(2024, 9, 27), 1) == (date(2024, 9, 29), False)
    assert CALENDAR.working_day_after(date(2024, 10, 8), 1) == (date(2024, 10, 9), False)


@pytest.mark.parametrize("n", [0, -1])
def test_working_day_after_needs_at_least_one_day(n: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CALENDAR.working_day_after(date(2024, 10, 8), n)


def test_working_day_after_agrees_with_the_packages_workday_list_for_every_day_of_2024() -> None:
    day = date(2024, 1, 1)
    while day.year == 2024:
        due, provisional = CALENDAR.working_day_after(day, 20)
        counted = chinese_calendar.get_workdays(day + timedelta(days=1), due)
        assert len(counted) == 20, day
        assert counted[-1] == due, day
        assert not provisional
        day += timedelta(days=1)


def test_counting_into_an_unknown_year_is_provisional() -> None:
    # Tuesday 2026-12-15: 12-16..18 1–3, 12-21..25 4–8, 12-28..31 9–12, then 2027 Monday to
    # Friday: 01-01 13, 01-04..08 14–18, 01-11 19, 01-12 20.
    assert CALENDAR.working_day_after(date(2026, 12, 15), 20) == (date(2027, 1, 12), True)
    # Once 2027 is published with 01-01 off, the same count ends a day later, for sure.
    calendar = CALENDAR.with_published(
        YearCalendar(2027, frozenset({date(2027, 1, 1)}), frozenset())
    )
    assert calendar.working_day_after(date(2026, 12, 15), 20) == (date(2027, 1, 13), False)

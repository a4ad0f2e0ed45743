"""The working-day calendar: chinese_calendar's years, overridden by the central office's.

A working day (工作日) is a Monday to Friday that is neither a statutory holiday nor a 调休 rest
day, or a Saturday or Sunday declared a working day (调休上班). A year the central office has
published (`CalendarPublished`) replaces the package's data for that year; a year neither
published nor known to the package (chinesecalendar 1.11.0 knows 2004–2026) is *provisional*:
Monday to Friday are working days, Saturday and Sunday are not, and every answer says so.

Counting is always done day by day with `is_workday`. chinese_calendar's `find_workday(n, d)`
is never used: it answers the (n+1)-th working day when `d` is itself a rest day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import chinese_calendar  # type: ignore[import-untyped]

_ONE_DAY = timedelta(days=1)

# The years chinese_calendar has data for, read from its own table (it raises
# NotImplementedError outside them).
_PACKAGE_FIRST_YEAR: int = min(chinese_calendar.holidays).year
_PACKAGE_LAST_YEAR: int = max(chinese_calendar.holidays).year

# chinese_calendar names holidays in English; the notes a clerk reads are in Chinese.
_HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


class DayKind(StrEnum):
    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"  # statutory holiday or 调休 rest day falling on Monday to Friday
    MAKE_UP_WORKDAY = "make_up_workday"  # 调休上班: a Saturday or Sunday that is a working day


def _is_weekend(day: date) -> bool:
    return day.weekday() >= 5


@dataclass(frozen=True)
class YearCalendar:
    """One year's working-day calendar as published by the central office (`CalendarPublished`).

    `holidays` are the rest days that would otherwise be working days (Monday to Friday);
    statutory holidays that fall on a weekend are not listed, they are weekend days anyway.
    `make_up_workdays` are the Saturdays and Sundays that are working days (调休上班).
    """

    year: int
    holidays: frozenset[date]
    make_up_workdays: frozenset[date]

    def __post_init__(self) -> None:
        # Accept any iterable (an event carries tuples) but keep the declared frozenset type.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "make_up_workdays", frozenset(self.make_up_workdays))
        if not date.min.year <= self.year <= date.max.year:
            raise ValueError(f"calendar year {self.year} is not a valid year")
        for label, days in (("holiday", self.holidays), ("make-up workday", self.make_up_workdays)):
            for day in days:
                if isinstance(day, datetime) or not isinstance(day, date):
                    raise ValueError(f"{label} {day!r} is not a date")
            for day in sorted(days):
                if day.year != self.year:
                    raise ValueError(
                        f"{label} {day.isoformat()} is not in the calendar's year {self.year}"
                    )
        for day in sorted(self.holidays):
            if _is_weekend(day):
                raise ValueError(
                    f"holiday {day.isoformat()} is a {day:%A}: list only holidays that fall on "
                    "Monday to Friday (a weekend day is a rest day anyway)"
                )
        for day in sorted(self.make_up_workdays):
            if not _is_weekend(day):
                raise ValueError(
                    f"make-up workday {day.isoformat()} is a {day:%A}: a 调休 working day must "
                    "be a Saturday or Sunday"
                )


class WorkingCalendar:
    """Working days from published years first, then chinese_calendar, then Monday to Friday.

    Immutable: `with_published` answers a new calendar. When the same year is published more
    than once, the last one given wins (a later `CalendarPublished` corrects an earlier one).
    """

    def __init__(self, published: Iterable[YearCalendar] = ()) -> None:
        self._published: dict[int, YearCalendar] = {}
        for year_calendar in published:
            self._published[year_calendar.year] = year_calendar

    def __repr__(self) -> str:
        return f"WorkingCalendar(published={sorted(self._published)})"

    def knows(self, year: int) -> bool:
        """True when the year is published or in chinese_calendar; False means provisional."""
        return year in self._published or _package_knows(year)

    def with_published(self, year_calendar: YearCalendar) -> WorkingCalendar:
        return WorkingCalendar([*self._published.values(), year_calendar])

    def day_kind(self, day: date) -> tuple[DayKind, bool]:
        """The kind of day, and whether that answer is provisional (the year is unknown)."""
        published = self._published.get(day.year)
        if published is not None:
            return _published_kind(published, day), False
        if _package_knows(day.year):
            return _package_kind(day), False
        return (DayKind.WEEKEND if _is_weekend(day) else DayKind.WORKDAY), True

    def is_workday(self, day: date) -> bool:
        kind, _ = self.day_kind(day)
        return kind in (DayKind.WORKDAY, DayKind.MAKE_UP_WORKDAY)

    def holiday_name(self, day: date) -> str | None:
        """The Chinese name of the holiday a day belongs to, from chinese_calendar, if any.

        Given for holiday and 调休 rest days, weekend days inside a holiday period, and make-up
        working days (the holiday they make up for). None when the year is unknown to
        chinese_calendar, or when a published year classifies the day differently from it.
        """
        if not _package_knows(day.year):
            return None
        published = self._published.get(day.year)
        if published is not None and _published_kind(published, day) != _package_kind(day):
            return None
        return _package_holiday_name(day)

    def working_day_after(self, start: date, n: int) -> tuple[date, bool]:
        """The n-th working day strictly after `start`, and whether any day examined was
        provisional. `start` itself is never counted, whatever kind of day it is."""
        if n < 1:
            raise ValueError(f"n must be at least 1, not {n}")
        day = start
        counted = 0
        provisional = False
        while counted < n:
            day += _ONE_DAY
            kind, day_provisional = self.day_kind(day)
            provisional = provisional or day_provisional
            if kind in (DayKind.WORKDAY, DayKind.MAKE_UP_WORKDAY):
                counted += 1
        return day, provisional


def _package_knows(year: int) -> bool:
    return _PACKAGE_FIRST_YEAR <= year <= _PACKAGE_LAST_YEAR


# The package's answers never change in a process, and every deadline asks about the same few
# dozen days again (chinese_calendar validates and looks up each call): cached per day.
@lru_cache(maxsize=8192)
def _package_kind(day: date) -> DayKind:
    workday: bool = chinese_calendar.is_workday(day)
    if workday:
        return DayKind.MAKE_UP_WORKDAY if _is_weekend(day) else DayKind.WORKDAY
    return DayKind.WEEKEND if _is_weekend(day) else DayKind.HOLIDAY


@lru_cache(maxsize=8192)
def _package_holiday_name(day: date) -> str | None:
    detail: tuple[bool, str | None] = chinese_calendar.get_holiday_detail(day)
    _, name = detail
    if name is None:
        return None
    return _HOLIDAY_NAMES_ZH.get(name, name)


def _published_kind(published: YearCalendar, day: date) -> DayKind:
    if day in published.make_up_workdays:
        return DayKind.MAKE_UP_WORKDAY
    if day in published.holidays:
        return DayKind.HOLIDAY
    return DayKind.WEEKEND if _is_weekend(day) else DayKind.WORKDAY

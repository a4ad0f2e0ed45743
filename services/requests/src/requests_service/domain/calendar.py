"""The working-day calendar lives in gongkai_platform.calendar (catalogue needs it too)."""

from gongkai_platform.calendar import DayKind, WorkingCalendar, YearCalendar

__all__ = ["DayKind", "WorkingCalendar", "YearCalendar"]

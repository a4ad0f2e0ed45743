"""The statutory reply clock of a disclosure request, with a day-by-day derivation.

Counting rules (条例 第三十三条; 2007 条例 第二十四条; 民法典 第二百零一条):

- The regime is chosen by the date of receipt: received from 2019-05-15, 20 working days plus
  at most 20 of extension (2019 条例); received from 2008-05-01 to 2019-05-14, 15 plus at most
  15 (2007 条例). Earlier receipts are refused.
- The day the clock starts (the date of receipt, or the restart day) is never counted, whatever
  kind of day it is; the due date is the n-th working day strictly after it.
- Restart (补正, 条例 第三十条 "答复期限自行政机关收到补正的申请之日起计算"): when the
  corrected request arrives the clock starts again from zero on that day. Days and pauses before
  the restart day no longer matter.
- Pause (征求第三方或其他机关意见, 条例 第三十三条 第三款; 2007 条例 第二十四条, third party
  only): a pause from `start` to `end` takes away the working days strictly after `start` up to
  and including `end`. The day the consultation is sent still counts as a normal day; counting
  resumes on the first working day after the day the answer arrived. A pause whose `end` is on
  or before its `start` takes away nothing. Only days after the clock's start are looked at, so a
  pause still running at a restart keeps pausing the new count. Overlapping pauses pause the
  union of their days. A pause that begins only after the due date changes nothing: the period
  had already run out.
- An open pause (`end` is None) stops the clock: once the count reaches a day after the pause's
  start, the due date is unknown (`due_on` is None, `paused` is True) until the pause ends.
- Extension (延长答复期限): granted once, at most the regime's maximum; the extension's days
  continue the count (21..40 under the 2019 regime).
- A deadline is provisional when any day examined lies in a year whose calendar is not known
  (neither published nor in chinese_calendar): such years count Monday to Friday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from gongkai_platform.calendar import DayKind, WorkingCalendar

_ONE_DAY = timedelta(days=1)
_WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


@dataclass(frozen=True)
class Regime:
    """The reply periods of one version of the regulation, in working days."""

    name: str
    base_days: int
    max_extension_days: int
    in_force_from: date


# 国务院令第492号 第二十四条: 15 working days, extension at most 15; in force 2008-05-01.
REGIME_2007 = Regime(
    name="2007", base_days=15, max_extension_days=15, in_force_from=date(2008, 5, 1)
)
# 国务院令第711号 (条例 第三十三条): 20 working days, extension at most 20; in force 2019-05-15.
REGIME_2019 = Regime(
    name="2019", base_days=20, max_extension_days=20, in_force_from=date(2019, 5, 15)
)


def regime_for(received_on: date) -> Regime:
    """The regime that governs a request, decided by its date of receipt."""
    if received_on >= REGIME_2019.in_force_from:
        return REGIME_2019
    if received_on >= REGIME_2007.in_force_from:
        return REGIME_2007
    raise ValueError(
        f"received on {received_on.isoformat()}, before the 2007 regulation came into force "
        f"({REGIME_2007.in_force_from.isoformat()})"
    )


@dataclass(frozen=True)
class Pause:
    """A consultation of a third party or another agency: the clock does not run during it.

    Pauses the working days strictly after `start` up to and including `end`; `end` None means
    the consultation is still running.
    """

    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(
                f"pause ends on {self.end.isoformat()}, before it starts on "
                f"{self.start.isoformat()}"
            )

    def covers(self, day: date) -> bool:
        return self.start < day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class ClockFacts:
    """Everything that moves a request's reply deadline."""

    received_on: date
    restarted_on: date | None = None  # the corrected request (补正) arrived: count from zero
    pauses: tuple[Pause, ...] = ()
    extension_days: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "pauses", tuple(self.pauses))
        regime = regime_for(self.received_on)
        if self.restarted_on is not None and self.restarted_on < self.received_on:
            raise ValueError(
                f"restart on {self.restarted_on.isoformat()} is before the date of receipt "
                f"{self.received_on.isoformat()}"
            )
        for pause in self.pauses:
            if pause.start < self.received_on:
                raise ValueError(
                    f"pause starting {pause.start.isoformat()} is before the date of receipt "
                    f"{self.received_on.isoformat()}"
                )
        if self.extension_days < 0:
            raise ValueError(f"extension of {self.extension_days} working days is negative")
        if self.extension_days > regime.max_extension_days:
            raise ValueError(
                f"extension of {self.extension_days} working days exceeds the "
                f"{regime.name} regulation's maximum of {regime.max_extension_days}"
            )


class LineKind(StrEnum):
    RECEIVED = "received"  # the date of receipt, not counted
    RESTART = "restart"  # the corrected request arrived, not counted; counting starts again
    COUNTED = "counted"  # a working day of the base period
    WEEKEND = "weekend"
    HOLIDAY = "holiday"  # statutory holiday or 调休 rest day on Monday to Friday
    MAKE_UP_WORKDAY = "make_up_workday"  # a 调休 Saturday or Sunday: counted
    PAUSED = "paused"  # a working day taken away by a consultation
    EXTENSION = "extension"  # a counted working day of the extension
    DUE = "due"  # the last counted working day: the deadline


@dataclass(frozen=True)
class DerivationLine:
    """One calendar day of a deadline's derivation."""

    day: date
    kind: LineKind
    count: int | None  # working days counted so far, on counted days only
    note: str


@dataclass(frozen=True)
class Deadline:
    """A reply deadline and how it was derived."""

    regime: Regime
    start: date  # the date of receipt, or of the restart
    base_due_on: date | None  # the last day of the base period; None while an open pause runs
    due_on: date | None  # with the extension; None while an open pause runs
    extension_days: int
    provisional: bool  # some day examined lies in a year with no known calendar
    paused: bool  # an open pause stops the clock: the due date is unknown
    lines: tuple[DerivationLine, ...]  # one per calendar day, from `start` on

    def explain(self) -> str:
        """The derivation as text, one line per day."""
        rows = [
            f"{line.day.isoformat()} {_WEEKDAYS_ZH[line.day.weekday()]} "
            f"{line.kind.value:<15} {'' if line.count is None else line.count:>3} {line.note}"
            for line in self.lines
        ]
        return "\n".join(rows)


def compute_deadline(facts: ClockFacts, calendar: WorkingCalendar) -> Deadline:
    """The reply deadline for the facts, walking the calendar one day at a time."""
    regime = regime_for(facts.received_on)
    start = facts.restarted_on if facts.restarted_on is not None else facts.received_on
    base = regime.base_days
    total = base + facts.extension_days
    if facts.restarted_on is not None:
        first_note = "收到补正后的申请之日，答复期限重新计算，当日不计入"
        lines = [DerivationLine(start, LineKind.RESTART, None, first_note)]
    else:
        first_note = "收到申请之日，当日不计入，次日起算"
        lines = [DerivationLine(start, LineKind.RECEIVED, None, first_note)]
    open_pauses = [pause for pause in facts.pauses if pause.end is None]
    closed_pauses = [pause for pause in facts.pauses if pause.end is not None]
    pause_note = (
        "征求第三方意见，不计入期限"
        if regime is REGIME_2007
        else "征求第三方或其他机关意见，不计入期限"
    )

    counted = 0
    provisional = False
    base_due_on: date | None = None
    due_on: date | None = None
    day = start
    while counted < total:
        day += _ONE_DAY
        if any(pause.covers(day) for pause in open_pauses):
            lines.append(
                DerivationLine(
                    day, LineKind.PAUSED, None, "征求意见尚未结束，自此日起暂停计算，期限待定"
                )
            )
            break
        kind, day_provisional = calendar.day_kind(day)
        provisional = provisional or day_provisional
        suffix = "（暂定：该年放假安排未知，按周一至周五计算）" if day_provisional else ""
        name = calendar.holiday_name(day)
        if kind is DayKind.WEEKEND:
            note = _WEEKDAYS_ZH[day.weekday()] + (f"，{name}" if name else "")
            lines.append(DerivationLine(day, LineKind.WEEKEND, None, note + suffix))
            continue
        if kind is DayKind.HOLIDAY:
            note = name or "放假（公布的放假安排）"
            lines.append(DerivationLine(day, LineKind.HOLIDAY, None, note + suffix))
            continue
        if any(pause.covers(day) for pause in closed_pauses):
            lines.append(DerivationLine(day, LineKind.PAUSED, None, pause_note + suffix))
            continue
        counted += 1
        note = f"第{counted}个工作日"
        if counted > base:
            note += f"（延长期限第{counted - base}日）"
        if kind is DayKind.MAKE_UP_WORKDAY:
            note = f"调休上班（{name}），{note}" if name else f"调休上班，{note}"
        if counted == base and total > base:
            base_due_on = day
            note += "，原答复期限届满"
        if counted == total:
            base_due_on = base_due_on or day
            due_on = day
            note += "，延长后的答复期限届满" if total > base else "，答复期限届满"
            line_kind = LineKind.DUE
        elif kind is DayKind.MAKE_UP_WORKDAY:
            line_kind = LineKind.MAKE_UP_WORKDAY
        elif counted > base:
            line_kind = LineKind.EXTENSION
        else:
            line_kind = LineKind.COUNTED
        lines.append(DerivationLine(day, line_kind, counted, note + suffix))

    return Deadline(
        regime=regime,
        start=start,
        base_due_on=base_due_on,
        due_on=due_on,
        extension_days=facts.extension_days,
        provisional=provisional,
        paused=due_on is None,
        lines=tuple(lines),
    )


def correction_notice_due(received_on: date, calendar: WorkingCalendar) -> tuple[date, bool]:
    """Last day to send the one-time 补正 notice: 7 working days (条例 第三十条)."""
    return calendar.working_day_after(received_on, 7)


def consultation_answer_due(sent_on: date, calendar: WorkingCalendar) -> tuple[date, bool]:
    """Last day for a consulted third party to answer: 15 working days (条例 第三十二条).

    The regulation counts from the day the third party *receives* the letter; counting from the
    day it is sent gives the earliest possible date, which is what a reminder needs.
    """
    return calendar.working_day_after(sent_on, 15)


def fee_payment_due(noticed_on: date, calendar: WorkingCalendar) -> tuple[date, bool]:
    """Last day to pay a 信息处理费 notice: 20 working days."""
    # UNVERIFIED: 20 working days is a reading from memory of 国办函〔2020〕109号 (articles 6 ff.,
    # see disclosure-rules.md §3 and §11 point 4); check the text before relying on it.
    return calendar.working_day_after(noticed_on, 20)

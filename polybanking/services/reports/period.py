"""Periods of the exports and reports: calendar days in the organisation's time zone.

A treasurer's "November" is November in Zurich: a payment at 23:30 UTC on 31 October is a
November payment there. So a period is a pair of local dates, both included, and becomes a
half-open UTC interval only when the database is asked.
"""

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: The named periods (the CLI's ``--period`` and the admin form's choices), in display order.
PERIODS = {
    "this-month": "This month",
    "previous-month": "Previous month",
    "since-a-month": "Since a month",
    "this-year": "This year",
    "since-a-year": "Since a year",
}

#: Custom periods start no earlier than this (nothing older exists; keeps the month list bounded).
EARLIEST = date(2000, 1, 1)
LATEST = date(9998, 12, 31)


class PeriodError(ValueError):
    """A period that cannot be: unknown name, malformed or reversed dates. The message is for people."""


@dataclass(frozen=True)
class Period:
    """Local calendar days ``start`` to ``end``, both included, in time zone ``tz``."""

    start: date
    end: date
    tz: ZoneInfo

    @property
    def start_utc(self) -> datetime:
        """First instant of the period (included)."""
        return datetime.combine(self.start, time(0), self.tz).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """First instant after the period (excluded): midnight ending the last day."""
        return datetime.combine(self.end + timedelta(days=1), time(0), self.tz).astimezone(UTC)

    def months(self) -> list["Month"]:
        """The calendar months the period touches, each cut to the period."""
        return list(_months(self))

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the organisation's time zone."""
        return moment.astimezone(self.tz)

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()} ({self.tz.key})"


@dataclass(frozen=True)
class Month:
    """One month of a period: ``first``..``last`` local days (cut to the period), label ``YYYY-MM``."""

    first: date
    last: date
    tz: ZoneInfo

    @property
    def label(self) -> str:
        return f"{self.first.year:04d}-{self.first.month:02d}"

    @property
    def period(self) -> Period:
        return Period(self.first, self.last, self.tz)


def _months(period: Period) -> Iterator[Month]:
    first = period.start
    while first <= period.end:
        last = date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
        yield Month(first, min(last, period.end), period.tz)
        first = last + timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, the day clamped to the target month's length (31 Mar - 1 = 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def named_period(name: str, today: date, tz: ZoneInfo) -> Period:
    """The named period as seen on local day ``today``."""
    if name == "this-month":
        return Period(today.replace(day=1), _add_months(today.replace(day=1), 1) - timedelta(days=1), tz)
    if name == "previous-month":
        first = _add_months(today.replace(day=1), -1)
        return Period(first, today.replace(day=1) - timedelta(days=1), tz)
    if name == "since-a-month":
        return Period(_add_months(today, -1), today, tz)
    if name == "this-year":
        return Period(date(today.year, 1, 1), date(today.year, 12, 31), tz)
    if name == "since-a-year":
        return Period(_add_months(today, -12), today, tz)
    raise PeriodError(f"unknown period {name!r}; one of {', '.join(PERIODS)}")


def parse_day(value: str, what: str = "date") -> date:
    """A ``YYYY-MM-DD`` day, within the range reports can cover."""
    text = (value or "").strip()
    if not text:
        raise PeriodError(f"{what} is missing: give it as YYYY-MM-DD (or choose a named period)")
    if len(text) != 10 or not text.isascii():
        raise PeriodError(f"{what} must be YYYY-MM-DD, not {value!r}")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{what} must be a real YYYY-MM-DD date, not {value!r}") from None
    if not EARLIEST <= day <= LATEST:
        raise PeriodError(f"{what} must be between {EARLIEST} and {LATEST}")
    return day


def custom_period(start: str, end: str, tz: ZoneInfo) -> Period:
    """From ``start`` to ``end`` (``YYYY-MM-DD``), both days included."""
    first, last = parse_day(start, "the start date"), parse_day(end, "the end date")
    if first > last:
        raise PeriodError(f"the start date {first} is after the end date {last}")
    return Period(first, last, tz)


def today_in(tz: ZoneInfo, now: datetime | None = None) -> date:
    """The local day in ``tz`` at ``now`` (default: this instant)."""
    return (now or datetime.now(UTC)).astimezone(tz).date()


def resolve(
    tz: ZoneInfo,
    name: str | None = None,
    start: str | None = None,
    end: str | None = None,
    now: datetime | None = None,
) -> Period:
    """A named period, or custom dates: what a form or the command line gives, checked.

    Exactly one of ``name`` or the pair ``start``/``end``; neither means this month.
    """
    custom = start is not None or end is not None
    if name and custom:
        raise PeriodError("give either a named period or start and end dates, not both")
    if custom:
        if start is None or end is None:
            raise PeriodError("custom periods need both a start and an end date")
        return custom_period(start, end, tz)
    return named_period(name or "this-month", today_in(tz, now), tz)

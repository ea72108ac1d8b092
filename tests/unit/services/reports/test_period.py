"""Periods are local calendar days in the organisation's time zone, both ends included."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from polybanking.services.reports.period import (
    PERIODS,
    Period,
    PeriodError,
    custom_period,
    named_period,
    resolve,
)

ZURICH = ZoneInfo("Europe/Zurich")


@pytest.mark.parametrize(
    ("name", "today", "start", "end"),
    [
        ("this-month", date(2026, 2, 14), date(2026, 2, 1), date(2026, 2, 28)),
        ("this-month", date(2028, 2, 29), date(2028, 2, 1), date(2028, 2, 29)),
        ("this-month", date(2026, 12, 31), date(2026, 12, 1), date(2026, 12, 31)),
        ("previous-month", date(2026, 1, 10), date(2025, 12, 1), date(2025, 12, 31)),
        ("previous-month", date(2026, 3, 31), date(2026, 2, 1), date(2026, 2, 28)),
        ("since-a-month", date(2026, 3, 31), date(2026, 2, 28), date(2026, 3, 31)),
        ("since-a-month", date(2026, 1, 15), date(2025, 12, 15), date(2026, 1, 15)),
        ("this-year", date(2026, 7, 4), date(2026, 1, 1), date(2026, 12, 31)),
        ("since-a-year", date(2028, 2, 29), date(2027, 2, 28), date(2028, 2, 29)),
        ("since-a-year", date(2026, 11, 27), date(2025, 11, 27), date(2026, 11, 27)),
    ],
)
def test_named_periods(name, today, start, end):
    period = named_period(name, today, ZURICH)
    assert (period.start, period.end) == (start, end)


def test_every_named_period_is_known():
    for name in PERIODS:
        named_period(name, date(2026, 5, 5), ZURICH)
    with pytest.raises(PeriodError, match="unknown period"):
        named_period("last-decade", date(2026, 5, 5), ZURICH)


def test_bounds_are_local_midnights_in_utc():
    winter = Period(date(2026, 11, 1), date(2026, 11, 30), ZURICH)
    assert winter.start_utc == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # CET, UTC+1
    assert winter.end_utc == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # end excluded
    summer = Period(date(2026, 4, 1), date(2026, 4, 1), ZURICH)
    assert summer.start_utc == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # CEST, UTC+2
    assert summer.end_utc == datetime(2026, 4, 1, 22, 0, tzinfo=UTC)
    # The day the clocks go back is 25 hours long.
    autumn = Period(date(2026, 10, 25), date(2026, 10, 25), ZURICH)
    assert (autumn.end_utc - autumn.start_utc).total_seconds() == 25 * 3600


def test_months_are_cut_to_the_period():
    period = custom_period("2026-01-15", "2026-03-10", ZURICH)
    months = period.months()
    assert [m.label for m in months] == ["2026-01", "2026-02", "2026-03"]
    assert (months[0].first, months[0].last) == (date(2026, 1, 15), date(2026, 1, 31))
    assert (months[1].first, months[1].last) == (date(2026, 2, 1), date(2026, 2, 28))
    assert (months[2].first, months[2].last) == (date(2026, 3, 1), date(2026, 3, 10))
    assert months[0].period.start_utc == period.start_utc
    assert months[-1].period.end_utc == period.end_utc
    for earlier, later in zip(months, months[1:], strict=False):
        assert earlier.period.end_utc == later.period.start_utc  # no gap, no overlap


def test_custom_period_includes_both_days():
    period = custom_period("2026-05-05", "2026-05-05", ZURICH)
    assert (period.start, period.end) == (date(2026, 5, 5), date(2026, 5, 5))


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-13-01", "2026-12-31", "real YYYY-MM-DD"),
        ("2026-02-30", "2026-03-01", "real YYYY-MM-DD"),
        ("26-01-01", "2026-12-31", "YYYY-MM-DD"),
        ("2026-01-01T00:00", "2026-12-31", "YYYY-MM-DD"),
        ("２０２６-01-01", "2026-12-31", "YYYY-MM-DD"),
        ("", "2026-12-31", "YYYY-MM-DD"),
        ("2026-12-31", "2026-01-01", "after the end date"),
        ("1999-12-31", "2026-01-01", "between"),
        ("2026-01-01", "9999-12-31", "between"),
    ],
)
def test_bad_custom_dates_are_refused_with_a_reason(start, end, message):
    with pytest.raises(PeriodError, match=message):
        custom_period(start, end, ZURICH)


def test_resolve_checks_the_combination():
    now = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)  # already 1 November in Zurich
    assert resolve(ZURICH, now=now).start == date(2026, 11, 1)
    assert resolve(ZURICH, "previous-month", now=now).start == date(2026, 10, 1)
    assert resolve(ZoneInfo("UTC"), now=now).start == date(2026, 10, 1)
    assert resolve(ZURICH, start="2026-01-01", end="2026-01-31").end == date(2026, 1, 31)
    with pytest.raises(PeriodError, match="not both"):
        resolve(ZURICH, "this-year", "2026-01-01", "2026-01-31")
    with pytest.raises(PeriodError, match="both a start and an end"):
        resolve(ZURICH, start="2026-01-01")
    with pytest.raises(PeriodError, match="both a start and an end"):
        resolve(ZURICH, end="2026-01-01")

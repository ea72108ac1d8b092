"""The period fields the export and summary forms share: a named period or custom dates.

Named periods and the dates' rules are ``services.period``'s (the command line's too); this only
reads the form's ``period``, ``from`` and ``to`` and says, in words, what is wrong with them.
"""

from zoneinfo import ZoneInfo

from ...services.reports.period import PERIODS, Period, PeriodError, resolve

CUSTOM = "custom"
#: The choices of the form's ``period`` field, in display order.
CHOICES = {**PERIODS, CUSTOM: "Custom dates (below)"}


def period_fields(params: dict[str, str], default: str) -> dict[str, str]:
    """The period fields as the form shows them back: dates given without a named period are a
    custom period (a link with ``from`` and ``to`` means those days, whatever today is), else
    ``default`` when none is chosen."""
    start, end = params.get("from", "").strip(), params.get("to", "").strip()
    return {
        "period": params.get("period", "") or (CUSTOM if start or end else default),
        "from": start,
        "to": end,
    }


def read_period(fields: dict[str, str], tz: ZoneInfo) -> Period:
    """The chosen period; PeriodError (a sentence for the person) when it cannot be."""
    name = fields["period"]
    if name == CUSTOM:
        return resolve(tz, start=fields["from"], end=fields["to"])
    if name not in PERIODS:
        raise PeriodError("Choose a period.")
    return resolve(tz, name)

"""Comparing a PostFinance transaction report with the database (issue 6, PROTOCOL §8), or
Checkout's transaction export (PROTOCOL §11) with the Checkout configs' transactions.

Two steps with plain results, so that the command, the inbox task and the admin page share them:
``read_report`` (the whole file, or a ``ReportUnreadable`` naming line and column: a comparison is
never made from part of a file) and ``compare`` (for the report's days and one environment).
Storing a run, listing runs and the CSV of differences are in ``reconcile_runs``.

Made for a million lines: the report is kept as one final line per order (the highest
PAYID/PAYIDSUB), and the database is streamed past it, so memory holds one side only.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from ...models import Config, Transaction
from ...models.reconciliation_item import DIFFERENT, FOREIGN, ONLY_POLYBANKING, ONLY_REPORT
from ...platforms import CHECKOUT, CURRENCY, EPAYMENT
from ...platforms.checkout import export
from ...platforms.epayment.form import MAX_TRANSACTION_ID, format_order_id
from ...platforms.epayment.report import ReportError, ReportInfo, ReportLine, iter_report
from ...settings import Settings

SAME = "same"
CATEGORIES = (SAME, DIFFERENT, ONLY_REPORT, ONLY_POLYBANKING, FOREIGN)
CATEGORY_TEXT = {
    SAME: "same",
    DIFFERENT: "different",
    ONLY_REPORT: "only in the report",
    ONLY_POLYBANKING: "only in PolyBanking",
    FOREIGN: "other systems' orders",
}
#: The compared values, in the order they are listed.
FIELDS = ("payid", "amount", "currency", "status")
CHUNK = 500  # ids per IN (…) query: well under every database's parameter limit


class ReportUnreadable(Exception):
    """The file is not a report this reader can trust; ``str()`` says what and where."""


@dataclass
class ParsedReport:
    """A report as one final line per order. ``ours`` (by transaction id) is consumed by compare()."""

    file_name: str
    file_format: str
    encoding: str
    lines: int
    first_date: date
    last_date: date
    ours: dict[int, ReportLine]
    others: dict[str, ReportLine]
    #: The platform whose report it is: only that platform's configs are compared with it.
    platform: str = EPAYMENT

    @property
    def orders(self) -> int:
        return len(self.ours) + len(self.others)


def _later(line: ReportLine, than: ReportLine) -> bool:
    """The final state of an order: the latest payment attempt (PAYID), then its highest PAYIDSUB."""
    return (int(line.pay_id), line.pay_id_sub) > (int(than.pay_id), than.pay_id_sub)


def read_report(stream: BinaryIO, file_name: str, orderid_prefix: str) -> ParsedReport:
    """Read the whole report in ``stream`` (binary, seekable); ReportUnreadable if any of it is not."""
    info = ReportInfo()
    ours: dict[int, ReportLine] = {}
    others: dict[str, ReportLine] = {}
    count = 0
    first = last = None
    previous_date = None
    head = orderid_prefix + "-"
    cut = len(head)
    try:
        platform = CHECKOUT if export.is_export(stream) else EPAYMENT
        lines = export.iter_export(stream, info) if platform == CHECKOUT else iter_report(stream, info)
        for line in lines:
            count += 1
            if line.order_date is not previous_date:  # dates are cached: usually the same object
                previous_date = line.order_date
                first = previous_date if first is None or previous_date < first else first
                last = previous_date if last is None or previous_date > last else last
            ref = line.order_id
            # parse_order_id's rule, with its usual case inlined (a million calls cost a second).
            tail = ref[cut:]
            if (
                ref.startswith(head)
                and tail.isdigit()
                and tail.isascii()
                and len(tail) <= 10
                and tail[0] != "0"
            ):
                transaction_id = int(tail)
                if transaction_id > MAX_TRANSACTION_ID:
                    transaction_id = None
            else:
                transaction_id = None
            if transaction_id is not None:
                known = ours.get(transaction_id)
                if known is None or _later(line, known):
                    ours[transaction_id] = line
            else:
                known = others.get(ref)
                if known is None or _later(line, known):
                    others[ref] = line
    except ReportError as error:
        raise ReportUnreadable(str(error)) from None
    except OSError as error:
        raise ReportUnreadable(f"the file cannot be read ({error.strerror or error})") from None
    if first is None or last is None:
        raise ReportUnreadable("the report has no transaction lines")
    return ParsedReport(
        file_name, info.file_format, info.encoding, count, first, last, ours, others, platform
    )


@dataclass(frozen=True)
class Side:
    """One side's values for an order (None where that side has none)."""

    pay_id: str | None
    amount: int | None
    currency: str | None
    status: str | None

    def value(self, name: str) -> str | int | None:
        return {"payid": self.pay_id, "amount": self.amount, "currency": self.currency}.get(name, self.status)


@dataclass(frozen=True)
class Item:
    """An order that is not the same on both sides; ``fields`` says which values differ."""

    category: str
    order_id: str
    fields: tuple[str, ...] = ()
    report_line: int | None = None
    report: Side | None = None
    transaction_id: int | None = None
    config_id: int | None = None
    reference: str | None = None
    polybanking: Side | None = None


@dataclass
class Totals:
    count: int = 0
    report_cents: int = 0
    polybanking_cents: int = 0


@dataclass
class Comparison:
    """The result: totals per category (in cents, each side's) and every order not the same."""

    file_name: str
    file_format: str
    encoding: str
    report_lines: int
    first_date: date
    last_date: date
    live: bool
    totals: dict[str, Totals] = field(default_factory=lambda: {name: Totals() for name in CATEGORIES})
    items: list[Item] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        """Nothing differs; other systems' orders (listed apart) are no difference."""
        return not any(self.totals[name].count for name in (DIFFERENT, ONLY_REPORT, ONLY_POLYBANKING))


def day_bounds(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """The report's days (local, as the back office writes them) as a UTC interval [start, end)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def _report_side(line: ReportLine) -> Side:
    return Side(line.pay_id, line.amount_cents, line.currency, line.status)


def _columns():
    return select(
        Transaction.id, Transaction.amount, Transaction.postfinance_id, Transaction.postfinance_status
    )


class _Tally:
    """Accumulates totals and items while the database streams past the report."""

    def __init__(self, result: Comparison):
        self.result = result
        self.totals = result.totals
        self.pending: list[tuple[str, int, ReportLine | None, Side, tuple[str, ...]]] = []

    def pair(self, transaction_id: int, amount: int, pay_id, status, line: ReportLine) -> None:
        differing = []
        if line.pay_id != (pay_id or ""):
            differing.append("payid")
        if line.amount_cents != amount:
            differing.append("amount")
        if line.currency != CURRENCY:
            differing.append("currency")
        if line.status != (status or ""):
            differing.append("status")
        totals = self.totals[DIFFERENT if differing else SAME]
        totals.count += 1
        totals.report_cents += line.amount_cents
        totals.polybanking_cents += amount
        if differing:
            side = Side(pay_id, amount, CURRENCY, status)
            self.pending.append((DIFFERENT, transaction_id, line, side, tuple(differing)))

    def only_polybanking(self, transaction_id: int, amount: int, pay_id, status) -> None:
        totals = self.totals[ONLY_POLYBANKING]
        totals.count += 1
        totals.polybanking_cents += amount
        self.pending.append(
            (ONLY_POLYBANKING, transaction_id, None, Side(pay_id, amount, CURRENCY, status), ())
        )

    def only_report(self, line: ReportLine, category: str = ONLY_REPORT) -> None:
        totals = self.totals[category]
        totals.count += 1
        totals.report_cents += line.amount_cents
        self.result.items.append(Item(category, line.order_id, (), line.line, _report_side(line)))


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    batch: list[int] = []
    for value in ids:
        batch.append(value)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def compare(dbsession: Session, settings: Settings, report: ParsedReport, live: bool) -> Comparison:
    """Compare ``report`` with the transactions of the ``live`` (or test) configs forwarded to
    PostFinance within the report's days; orders of the report outside those days are looked up too.
    Consumes ``report.ours``.
    """
    result = Comparison(
        report.file_name,
        report.file_format,
        report.encoding,
        report.lines,
        report.first_date,
        report.last_date,
        live,
    )
    tally = _Tally(result)
    ours = report.ours
    start, end = day_bounds(report.first_date, report.last_date, settings.timezone)
    in_environment = and_(Config.test_mode.is_(not live), Config.platform == report.platform)
    scan = (
        _columns()
        .join(Config, Config.id == Transaction.config_id)
        .where(in_environment)
        .where(Transaction.last_userforwarded_date >= start, Transaction.last_userforwarded_date < end)
        .execution_options(stream_results=True, yield_per=5000)
    )
    connection = dbsession.connection()  # Core rows: no ORM bookkeeping per row
    pop = ours.pop
    same_count = same_cents = 0
    for transaction_id, amount, pay_id, status in connection.execute(scan):
        line = pop(transaction_id, None)
        if line is None:
            tally.only_polybanking(transaction_id, amount, pay_id, status)
        elif (
            line.amount_cents == amount
            and line.status == status
            and line.pay_id == pay_id
            and line.currency == CURRENCY
        ):  # the usual case, counted here without a call
            same_count += 1
            same_cents += amount
        else:
            tally.pair(transaction_id, amount, pay_id, status, line)
    same = result.totals[SAME]
    same.count += same_count
    same.report_cents += same_cents
    same.polybanking_cents += same_cents

    # The report's orders not forwarded within its days (a shopper who paid after midnight…).
    for batch in _chunks(list(ours)):
        rows = connection.execute(
            _columns()
            .join(Config, Config.id == Transaction.config_id)
            .where(in_environment, Transaction.id.in_(batch))
        )
        for transaction_id, amount, pay_id, status in rows:
            tally.pair(transaction_id, amount, pay_id, status, ours.pop(transaction_id))
    for line in ours.values():
        tally.only_report(line)
    ours.clear()
    ours_prefix = settings.orderid_prefix + "-"
    for line in report.others.values():
        # Our prefix but no order of ours (``polybanking-x``) is ours to explain; others are not.
        tally.only_report(line, ONLY_REPORT if line.order_id.startswith(ours_prefix) else FOREIGN)
    _describe(dbsession, settings, tally)
    order = {name: index for index, name in enumerate(CATEGORIES)}
    result.items.sort(
        key=lambda item: (order[item.category], item.report_line or 0, item.transaction_id or 0)
    )
    return result


def _describe(dbsession: Session, settings: Settings, tally: _Tally) -> None:
    """Items for the transactions found, with their website (config) and reference."""
    known: dict[int, tuple[int, str]] = {}
    for batch in _chunks(entry[1] for entry in tally.pending):
        rows = dbsession.execute(
            select(Transaction.id, Transaction.config_id, Transaction.reference).where(
                Transaction.id.in_(batch)
            )
        )
        known.update((row.id, (row.config_id, row.reference)) for row in rows)
    prefix = settings.orderid_prefix
    for category, transaction_id, line, side, differing in tally.pending:
        config_id, reference = known.get(transaction_id, (None, None))
        tally.result.items.append(
            Item(
                category,
                line.order_id if line else format_order_id(prefix, transaction_id),
                differing,
                line.line if line else None,
                _report_side(line) if line else None,
                transaction_id,
                config_id,
                reference,
                side,
            )
        )
    tally.pending.clear()

"""Comparing a PostFinance transaction report with the database (issue 6, PROTOCOL §8), or
Checkout's transaction export (PROTOCOL §11) with the Checkout configs' transactions.

Two steps with plain results, so that the command, the inbox task and the admin page share them:
``read_report`` (the whole file, or a ``ReportUnreadable`` naming line and column: a comparison is
never made from part of a file) and ``compare`` (for the report's days and one environment).
Storing a run, listing runs and the CSV of differences are in ``reconcile_runs``.

Made for a million lines: the report is kept as one final line per order (the highest
PAYID/PAYIDSUB), and the database is streamed past it, so memory holds one side only.

Refund lines (a later PAYIDSUB with a refund status, its own amount) are summed apart. For an
order PolyBanking refunded, the sum of its done refund lines is compared with what PolyBanking
refunded and the payment line (the last before the refunds) with the payment: both the same is
*same*; refunds not the same is *different* in amount, both sides showing the refunded total.
Orders PolyBanking did not refund are compared by their final line, as before.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from ...models import Config, Transaction
from ...models.reconciliation_item import DIFFERENT, FOREIGN, ONLY_POLYBANKING, ONLY_REPORT, UNANSWERED
from ...platforms import CHECKOUT, CURRENCY, EPAYMENT
from ...platforms.checkout import export
from ...platforms.epayment.form import MAX_TRANSACTION_ID, format_order_id
from ...platforms.epayment.report import ReportError, ReportInfo, ReportLine, iter_report
from ...platforms.epayment.statuses import OPERATION_DONE, OPERATION_PENDING, OPERATION_REFUSED
from ...settings import Settings

SAME = "same"
CATEGORIES = (SAME, DIFFERENT, ONLY_REPORT, ONLY_POLYBANKING, UNANSWERED, FOREIGN)
CATEGORY_TEXT = {
    SAME: "same",
    DIFFERENT: "different",
    ONLY_REPORT: "only in the report",
    ONLY_POLYBANKING: "only in PolyBanking",
    UNANSWERED: "forwarded, never answered",
    FOREIGN: "other systems' orders",
}
#: The compared values, in the order they are listed.
FIELDS = ("payid", "amount", "currency", "status")
CHUNK = 500  # ids per IN (…) query: well under every database's parameter limit
REFUND_DONE = OPERATION_DONE["refund"]
#: Statuses of a refund's own line in a report.
REFUND_LINES = REFUND_DONE | OPERATION_PENDING["refund"] | OPERATION_REFUSED["refund"]
PAID = "9"


def is_refund_line(line: ReportLine) -> bool:
    return line.pay_id_sub > 0 and line.status in REFUND_LINES


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
    #: Cents of the done refund lines per transaction id, and the payment line a refund line
    #: followed (both consumed by compare() too).
    refunds: dict[int, int] = field(default_factory=dict)
    payments: dict[int, ReportLine] = field(default_factory=dict)
    #: The platform whose report it is: only that platform's configs are compared with it.
    platform: str = EPAYMENT

    @property
    def orders(self) -> int:
        return len(self.ours) + len(self.others)


def _later(line: ReportLine, than: ReportLine) -> bool:
    """The final state of an order: the latest payment attempt (PAYID), then its highest PAYIDSUB."""
    return (int(line.pay_id), line.pay_id_sub) > (int(than.pay_id), than.pay_id_sub)


def read_report(stream: BinaryIO, file_name: str, orderid_prefix: str, timezone: str) -> ParsedReport:
    """Read the whole report in ``stream`` (binary, seekable); ReportUnreadable if any of it is not.
    ``timezone`` (``polybanking.timezone``) dates a Checkout export's lines: its times are UTC, and
    the report's days, like e-payment's, are the organisation's."""
    info = ReportInfo()
    ours: dict[int, ReportLine] = {}
    others: dict[str, ReportLine] = {}
    refunds: dict[int, int] = {}
    payments: dict[int, ReportLine] = {}
    count = 0
    first = last = None
    previous_date = None
    head = orderid_prefix + "-"
    cut = len(head)
    try:
        platform = CHECKOUT if export.is_export(stream) else EPAYMENT
        lines = (
            export.iter_export(stream, timezone, info) if platform == CHECKOUT else iter_report(stream, info)
        )
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
                if line.pay_id_sub and line.status in REFUND_LINES:
                    if line.status in REFUND_DONE:
                        refunds[transaction_id] = refunds.get(transaction_id, 0) + line.amount_cents
                    if known is not None and not is_refund_line(known) and ours[transaction_id] is line:
                        payments[transaction_id] = known  # the payment line the refunds followed
                elif known is not None and ours[transaction_id] is not line:
                    paid_line = payments.get(transaction_id)
                    if paid_line is None or _later(line, paid_line):
                        payments[transaction_id] = line
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
        file_name,
        info.file_format,
        info.encoding,
        count,
        first,
        last,
        ours,
        others,
        refunds,
        payments,
        platform,
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
        Transaction.id,
        Transaction.amount,
        Transaction.postfinance_id,
        Transaction.postfinance_status,
        Transaction.refunded_amount,
    )


class _Tally:
    """Accumulates totals and items while the database streams past the report."""

    def __init__(self, result: Comparison):
        self.result = result
        self.totals = result.totals
        #: (category, transaction id, report line, our side, differing fields, report side if not the line's)
        self.pending: list[tuple[str, int, ReportLine | None, Side, tuple[str, ...], Side | None]] = []

    def pair_refunds(self, transaction_id: int, row, line: ReportLine, report: "ParsedReport") -> None:
        """An order PolyBanking refunded: its payment line, and the refunded totals of both sides."""
        _id, amount, pay_id, status, refunded = row
        reported = report.refunds.pop(transaction_id, 0)
        payment = report.payments.pop(transaction_id, None)
        if not is_refund_line(line) and (payment is None or _later(line, payment)):
            payment = line  # the final line is the payment's own (a refund line came before it)
        if reported == refunded and payment is not None:
            self.pair(transaction_id, amount, pay_id, PAID if status in REFUND_DONE else status, payment)
            return
        same = reported == refunded and line.pay_id == (pay_id or "")
        totals = self.totals[SAME if same else DIFFERENT]
        totals.count += 1
        totals.report_cents += reported
        totals.polybanking_cents += refunded
        if not same:
            report_side = Side(line.pay_id, reported, line.currency, line.status)
            fields = ("amount",) + (("payid",) if line.pay_id != (pay_id or "") else ())
            ours_side = Side(pay_id, refunded, CURRENCY, status)
            self.pending.append((DIFFERENT, transaction_id, line, ours_side, fields, report_side))

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
            self.pending.append((DIFFERENT, transaction_id, line, side, tuple(differing), None))

    def only_polybanking(self, transaction_id: int, amount: int, pay_id, status) -> None:
        """Not in the report: a difference if PostFinance answered about it, else the expected case
        of a shopper who left PostFinance's page (PostFinance lists no order it never processed)."""
        category = ONLY_POLYBANKING if status or pay_id else UNANSWERED
        totals = self.totals[category]
        totals.count += 1
        totals.polybanking_cents += amount
        self.pending.append(
            (category, transaction_id, None, Side(pay_id, amount, CURRENCY, status), (), None)
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
    for row in connection.execute(scan):
        transaction_id, amount, pay_id, status, refunded = row
        line = pop(transaction_id, None)
        if line is None:
            tally.only_polybanking(transaction_id, amount, pay_id, status)
        elif refunded:
            tally.pair_refunds(transaction_id, row, line, report)
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
        for row in rows:
            transaction_id, amount, pay_id, status, refunded = row
            line = ours.pop(transaction_id)
            if refunded:
                tally.pair_refunds(transaction_id, row, line, report)
            else:
                tally.pair(transaction_id, amount, pay_id, status, line)
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
    for category, transaction_id, line, side, differing, report_side in tally.pending:
        config_id, reference = known.get(transaction_id, (None, None))
        tally.result.items.append(
            Item(
                category,
                line.order_id if line else format_order_id(prefix, transaction_id),
                differing,
                line.line if line else None,
                report_side or (_report_side(line) if line else None),
                transaction_id,
                config_id,
                reference,
                side,
            )
        )
    tally.pending.clear()

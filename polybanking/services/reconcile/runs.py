"""Reconciliation runs: each comparison stored (who, when, which file, counts, the orders found not
the same), read back for the admin pages, and the differences as CSV for a spreadsheet.

``reconcile_file`` is the one entry point of the command, the inbox task and the upload page:
read → compare → store, with a run stored even when the file cannot be read (it says why).
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ...models import ReconciliationItem, ReconciliationRun
from ...models.reconciliation_item import DIFFERENT, FOREIGN, ONLY_POLYBANKING, ONLY_REPORT, UNANSWERED
from ...settings import Settings
from ..reports.money import chf_display
from .comparison import CATEGORY_TEXT, SAME, Comparison, Item, ReportUnreadable, Side, compare, read_report

MAX_FILE_NAME = 255


@dataclass(frozen=True)
class RunOutcome:
    """The stored run, and the comparison when the file could be read (else ``run.error`` says why)."""

    run: ReconciliationRun
    comparison: Comparison | None


def _run(file_name: str, live: bool, actor: str, source: str, user_id: int | None) -> ReconciliationRun:
    return ReconciliationRun(
        file_name=file_name[:MAX_FILE_NAME].replace("\x00", ""),
        live=live,
        actor=actor[:255].replace("\x00", ""),
        source=source,
        user_id=user_id,
    )


def store_run(
    dbsession: Session,
    comparison: Comparison,
    *,
    actor: str,
    source: str,
    user_id: int | None = None,
) -> ReconciliationRun:
    """The run row and one item row per order not the same; flushed, so ``run.id`` is set."""
    run = _run(comparison.file_name, comparison.live, actor, source, user_id)
    run.file_format = comparison.file_format
    run.encoding = comparison.encoding
    run.report_lines = comparison.report_lines
    run.first_date = comparison.first_date
    run.last_date = comparison.last_date
    totals = comparison.totals
    run.same_count, run.same_cents = totals[SAME].count, totals[SAME].report_cents
    run.different_count = totals[DIFFERENT].count
    run.different_report_cents = totals[DIFFERENT].report_cents
    run.different_polybanking_cents = totals[DIFFERENT].polybanking_cents
    run.only_report_count, run.only_report_cents = totals[ONLY_REPORT].count, totals[ONLY_REPORT].report_cents
    run.only_polybanking_count = totals[ONLY_POLYBANKING].count
    run.only_polybanking_cents = totals[ONLY_POLYBANKING].polybanking_cents
    run.unanswered_count = totals[UNANSWERED].count
    run.unanswered_cents = totals[UNANSWERED].polybanking_cents
    run.foreign_count, run.foreign_cents = totals[FOREIGN].count, totals[FOREIGN].report_cents
    dbsession.add(run)
    dbsession.flush()
    rows = [_item_row(run.id, item) for item in comparison.items]
    for start in range(0, len(rows), 1000):
        dbsession.execute(insert(ReconciliationItem), rows[start : start + 1000])
    return run


def _item_row(run_id: int, item: Item) -> dict:
    report = item.report or Side(None, None, None, None)
    ours = item.polybanking or Side(None, None, None, None)
    return {
        "run_id": run_id,
        "category": item.category,
        "order_id": item.order_id,
        "fields": ",".join(item.fields),
        "report_line": item.report_line,
        "report_pay_id": report.pay_id,
        "report_amount": report.amount,
        "report_currency": report.currency,
        "report_status": report.status,
        "transaction_id": item.transaction_id,
        "config_id": item.config_id,
        "reference": item.reference,
        "polybanking_pay_id": ours.pay_id,
        "polybanking_amount": ours.amount,
        "polybanking_currency": ours.currency,
        "polybanking_status": ours.status,
    }


def reconcile_file(
    dbsession: Session,
    settings: Settings,
    stream: BinaryIO,
    file_name: str,
    *,
    live: bool,
    actor: str,
    source: str,
    user_id: int | None = None,
) -> RunOutcome:
    """Read, compare and store; an unreadable file gives a run whose ``error`` says what and where."""
    try:
        report = read_report(stream, file_name, settings.orderid_prefix, settings.timezone)
    except ReportUnreadable as error:
        run = _run(file_name, live, actor, source, user_id)
        run.error = str(error)
        dbsession.add(run)
        dbsession.flush()
        return RunOutcome(run, None)
    comparison = compare(dbsession, settings, report, live)
    run = store_run(dbsession, comparison, actor=actor, source=source, user_id=user_id)
    return RunOutcome(run, comparison)


def get_run(dbsession: Session, run_id: int) -> ReconciliationRun | None:
    return dbsession.get(ReconciliationRun, run_id)


def list_runs(dbsession: Session, limit: int = 50, offset: int = 0) -> list[ReconciliationRun]:
    """Newest first (the runs list; ``limit=1`` or a few for the admin home page)."""
    query = select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(limit).offset(offset)
    return list(dbsession.scalars(query))


def count_runs(dbsession: Session) -> int:
    return dbsession.scalar(select(func.count(ReconciliationRun.id))) or 0


def run_items(dbsession: Session, run_id: int, limit: int | None = None) -> list[Item]:
    """The orders a stored run found not the same, as the comparison gave them (the first ``limit``
    only, if given: a page shows a few hundred, the CSV has them all)."""
    rows = dbsession.scalars(
        select(ReconciliationItem)
        .where(ReconciliationItem.run_id == run_id)
        .order_by(ReconciliationItem.id)
        .limit(limit)
    )
    return [
        Item(
            category=row.category,
            order_id=row.order_id,
            fields=tuple(name for name in row.fields.split(",") if name),
            report_line=row.report_line,
            report=Side(row.report_pay_id, row.report_amount, row.report_currency, row.report_status)
            if row.report_line is not None
            else None,
            transaction_id=row.transaction_id,
            config_id=row.config_id,
            reference=row.reference,
            polybanking=Side(
                row.polybanking_pay_id,
                row.polybanking_amount,
                row.polybanking_currency,
                row.polybanking_status,
            )
            if row.transaction_id is not None
            else None,
        )
        for row in rows
    ]


CSV_HEADER = (
    "category",
    "order_id",
    "differs",
    "report_line",
    "report_payid",
    "report_amount_cents",
    "report_currency",
    "report_status",
    "transaction_id",
    "config_id",
    "reference",
    "polybanking_payid",
    "polybanking_amount_cents",
    "polybanking_currency",
    "polybanking_status",
)


def _cell(value) -> str | int:
    """No formula injection: a text cell a spreadsheet would evaluate is prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def differences_csv(items: Iterable[Item]) -> str:
    """The items as CSV (UTF-8 text with a BOM, so spreadsheets read accents), one line per order."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for item in items:
        report = item.report or Side(None, None, None, None)
        ours = item.polybanking or Side(None, None, None, None)
        values = (
            CATEGORY_TEXT[item.category],
            item.order_id,
            " ".join(item.fields),
            item.report_line,
            report.pay_id,
            report.amount,
            report.currency,
            report.status,
            item.transaction_id,
            item.config_id,
            item.reference,
            ours.pay_id,
            ours.amount,
            ours.currency,
            ours.status,
        )
        writer.writerow([_cell(value) for value in values])
    return out.getvalue()


def summary_lines(run: ReconciliationRun) -> list[str]:
    """The run in a few lines of text (the command's output, the inbox task's log), amounts in CHF."""
    head = f"{run.file_name}: {run.environment} environment"
    if run.error:
        return [f"{head}: NOT READ: {run.error}"]
    rows = [
        ("same", run.same_count, run.same_cents, ""),
        (
            "different",
            run.different_count,
            run.different_report_cents,
            f" in the report, CHF {chf_display(run.different_polybanking_cents)} in PolyBanking",
        ),
        ("only in the report", run.only_report_count, run.only_report_cents, ""),
        ("only in PolyBanking", run.only_polybanking_count, run.only_polybanking_cents, ""),
        (
            "forwarded, never answered",
            run.unanswered_count,
            run.unanswered_cents,
            " (expected, listed apart)",
        ),
        ("other systems' orders", run.foreign_count, run.foreign_cents, " (listed apart)"),
    ]
    lines = [
        f"{head}, {run.file_format.upper()} {run.encoding}, {run.report_lines} lines, "
        f"orders of {run.first_date:%d/%m/%Y} to {run.last_date:%d/%m/%Y}",
        *(
            f"  {name:<22}{count:>9}   CHF {chf_display(cents):>14}{after}"
            for name, count, cents, after in rows
        ),
        "Everything matches." if run.matches else "There are differences.",
    ]
    hint = environment_hint(run)
    return lines + [hint] if hint else lines


def environment_hint(run: ReconciliationRun) -> str:
    """When none of the report's orders is found among the environment's configs, the likely cause
    is the other environment's report (a test report compared as live, or the reverse)."""
    if not run.readable or not run.only_report_count or run.same_count or run.different_count:
        return ""
    other = "test" if run.live else "live"
    return (
        f"None of the report's orders was found among the {run.environment} configs: is it the "
        f"{other} account's report? Compare it again as {other}."
    )


def _shown(name: str, value: str | int | None) -> str:
    """A compared value for people: amounts in CHF, and "none" rather than Python's None."""
    if value is None or value == "":
        return "none"
    if name == "amount" and isinstance(value, int):
        return "CHF " + chf_display(value)
    return str(value)


def item_line(item: Item) -> str:
    """One order not the same, in one line of text."""
    where = f"line {item.report_line}" if item.report_line is not None else "not in the report"
    ours = f"transaction {item.transaction_id}" if item.transaction_id is not None else "not in PolyBanking"
    text = f"{CATEGORY_TEXT[item.category]}: {item.order_id} ({where}; {ours}"
    text += f", config {item.config_id}, reference {item.reference!r})" if item.reference is not None else ")"
    if item.fields and item.report and item.polybanking:
        text += "; " + ", ".join(
            f"{name} {_shown(name, item.report.value(name))} in the report, "
            f"{_shown(name, item.polybanking.value(name))} in PolyBanking"
            for name in item.fields
        )
    elif item.report and not item.fields:
        report = item.report
        amount = "none" if report.amount is None else f"{report.currency or '?'} {chf_display(report.amount)}"
        text += (
            f"; PAYID {_shown('payid', report.pay_id)}, {amount}, status {_shown('status', report.status)}"
        )
    elif item.polybanking:
        ours_side = item.polybanking
        text += (
            f"; PAYID {_shown('payid', ours_side.pay_id)}, {_shown('amount', ours_side.amount)}, "
            f"status {_shown('status', ours_side.status)}"
        )
    return text

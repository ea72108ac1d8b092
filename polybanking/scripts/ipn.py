"""``polybanking ipn status`` and ``polybanking ipn resend``: the operator's view of the IPN outbox.

A resend marks the IPN due now in the database (services/ipn.py ``request_resend``) and queues
``send_ipn`` after commit; a running worker sends it at once, and the outbox scan would anyway.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo

import transaction
from sqlalchemy.orm import Session

from ..models import get_engine, get_session_factory, get_tm_session
from ..services.ipn import report as ipn_report
from ..services.ipn.payload import request_resend
from ..settings import SettingsError
from ..tasks.context import TaskContext
from ..tasks.queue import build_huey, enqueue_after_commit, register_tasks
from .commands import CommandError, database_errors, read_settings

RESEND_BY = "the command line"


def parse_since(text: str) -> datetime:
    """``2026-11-27`` or ``2026-11-27T10:00[:00][+01:00]``; without an offset, UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"--since must be a date like 2026-11-27 or 2026-11-27T10:00, not {text!r}"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@contextmanager
def _session(
    ini: str, with_tasks: bool = False
) -> Iterator[tuple[Session, transaction.TransactionManager, object]]:
    """A committed-on-exit session on the ini's database (and the queue's tasks, to enqueue)."""
    raw, settings = read_settings(ini)
    with database_errors(" (has `polybanking initdb` been run?)"):
        engine = get_engine(raw)
        try:
            factory = get_session_factory(engine)
            tasks = None
            if with_tasks:
                try:
                    tasks = register_tasks(build_huey(raw), TaskContext(factory, settings, raw))
                except SettingsError as error:
                    raise CommandError(str(error)) from None
            manager = transaction.TransactionManager(explicit=True)
            with manager:
                yield get_tm_session(factory, manager), manager, tasks
            if tasks is not None:
                tasks.ipn_deliverer.close()
        finally:
            engine.dispose()


def find_one(dbsession: Session, config: str, reference: str):
    """The transaction named by ``--config`` (number or name) and ``--reference``, or CommandError."""
    found = ipn_report.find_transactions(dbsession, config, reference)
    if not found:
        raise CommandError(f"no transaction {reference!r} in config {config!r}")
    if len(found) > 1:
        raise CommandError(f"several configs are named {config!r}: give the config's number")
    return found[0]


def resend_one(ini: str, config: str, reference: str) -> str:
    with _session(ini, with_tasks=True) as (dbsession, manager, tasks):
        chosen = find_one(dbsession, config, reference)
        request_resend(dbsession, chosen, by=RESEND_BY)
        enqueue_after_commit(manager, tasks.send_ipn, chosen.id)
        return f"IPN of {reference!r} (config {chosen.config_id}) queued for resend"


def resend_failed(ini: str, since: str | None) -> str:
    since_date = parse_since(since) if since else None
    with _session(ini, with_tasks=True) as (dbsession, manager, tasks):
        failed = ipn_report.failed_transactions(dbsession, since_date)
        for chosen in failed:
            request_resend(dbsession, chosen, by=RESEND_BY, why="all failed IPNs")
            enqueue_after_commit(manager, tasks.send_ipn, chosen.id)
        return f"{len(failed)} failed IPN(s) queued for resend"


COLUMNS = ("config", "reference", "status", "attempts", "{when}", "last result")


def _local(moment: datetime | None, zone: tzinfo) -> str:
    """A time for people: the organisation's local time with its offset."""
    return "-" if moment is None else moment.astimezone(zone).isoformat(" ", "seconds")


def _table(entries: list[ipn_report.OutboxEntry], failed: bool, zone: tzinfo) -> list[str]:
    when = "last attempt" if failed else "next attempt"
    rows = [[column.format(when=when) for column in COLUMNS]]
    for entry in entries:
        moment = entry.last_attempt_at if failed else entry.next_attempt_at
        rows.append(
            [
                f"{entry.config_id} {entry.config_name}",
                entry.reference,
                entry.postfinance_status or "-",
                str(entry.attempts),
                _local(moment, zone),
                entry.last_result_text or "-",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def status(ini: str, limit: int = 50, as_json: bool = False) -> str:
    """What is pending (still tried) and failed (given up), with each one's last result."""
    if not 1 <= limit <= 10000:
        raise CommandError("--limit must be between 1 and 10000")
    zone = read_settings(ini)[1].tz
    with _session(ini) as (dbsession, _manager, _tasks):
        totals = ipn_report.counts(dbsession)
        failed = ipn_report.entries(dbsession, failed=True, limit=limit)
        pending = ipn_report.entries(dbsession, failed=False, limit=limit)
    if as_json:
        return json.dumps(
            {
                **totals,
                "failed_ipns": [e.as_json() for e in failed],
                "pending_ipns": [e.as_json() for e in pending],
            }
        )
    lines = [f"IPNs pending: {totals['pending']}, failed: {totals['failed']}"]
    if failed:
        lines += [
            "",
            "Failed (no automatic attempt left; `polybanking ipn resend --failed`):",
            *_table(failed, True, zone),
        ]
    if pending:
        lines += ["", "Pending:", *_table(pending, False, zone)]
    shown = len(failed) + len(pending)
    if shown < totals["pending"] + totals["failed"]:
        lines += ["", f"(showing {shown}; use --limit for more)"]
    return "\n".join(lines)

"""Reconciliation tasks: the reports inbox, and DirectLink checks of payments without an outcome.

Periodic tasks only find the work; each DirectLink question is a task of its own, whose HTTP call
runs outside any database transaction (DESIGN.md: outgoing HTTP only in tasks).
"""

import logging
from types import SimpleNamespace

from huey import Huey, crontab

from ..models.reconciliation_run import INBOX
from ..platforms import PlatformError
from ..platforms.epayment import directlink as pf_directlink
from ..services.payments import checkout
from ..services.reconcile import inbox as reconcile_inbox
from ..services.reconcile import janitor as directlink
from ..services.reconcile.runs import reconcile_file, summary_lines
from .context import TaskContext, task_transaction

log = logging.getLogger(__name__)


def register(huey: Huey, context: TaskContext, send_ipn) -> SimpleNamespace:
    settings = context.settings
    timeout = float(context.raw_settings.get("reconcile.query_timeout", "20") or 20)

    @huey.task(name="directlink_check")
    def directlink_check(transaction_id: int) -> bool:
        """Ask PostFinance about one transaction and apply the answer; True when its status changed."""
        with task_transaction(context) as dbsession:
            asked_checkout = checkout.prepare(dbsession, settings, transaction_id)
            question = None if asked_checkout else directlink.prepare(dbsession, settings, transaction_id)
        if asked_checkout is not None:
            return checkout_check(asked_checkout)
        if question is None:
            return False
        try:
            answer, error = pf_directlink.query(question.url, question.fields, timeout=timeout), ""
        except pf_directlink.DirectLinkError as problem:
            answer, error = None, str(problem)
        with task_transaction(context) as dbsession:
            outcome = directlink.apply_answer(dbsession, settings, question, answer, error)
            changed = bool(outcome and outcome.notify)
        if changed:  # after commit, as views/feedback.py does
            send_ipn(transaction_id)
        return changed

    def checkout_check(question: checkout.Question) -> bool:
        """The same question asked of Checkout's API, for a Checkout config's transaction."""
        try:
            answer, error = checkout.ask_all(question), ""
        except PlatformError as problem:
            answer, error = checkout.Answer(None), str(problem)
        with task_transaction(context) as dbsession:
            outcome = checkout.apply_check(dbsession, settings, question, answer, error)
            changed = bool(outcome and outcome.notify)
        if changed:
            send_ipn(question.transaction_id)
        return changed

    @huey.periodic_task(crontab(minute="*/5"), name="directlink_sweep")
    def directlink_sweep() -> list[int]:
        """Find (and count) the transactions due for a question, then queue one task each."""
        with task_transaction(context) as dbsession:
            due = directlink.claim_due(dbsession, settings)
        for transaction_id in due:
            directlink_check(transaction_id)
        return due

    @huey.periodic_task(crontab(minute="*"), name="reconcile_inbox")
    def reconcile_inbox_task() -> list[int]:
        """Compare each report that arrived in ``reconcile.inbox``; returns the runs' ids."""
        config = settings.reconcile
        if not config.inbox:
            return []
        runs = []
        for path in reconcile_inbox.ready_files(config.inbox):
            claimed = reconcile_inbox.claim(path, config.archive)
            if claimed is None:
                continue
            try:
                with task_transaction(context) as dbsession, claimed.open("rb") as stream:
                    outcome = reconcile_file(
                        dbsession,
                        settings,
                        stream,
                        path.name,
                        live=config.inbox_live,
                        actor="inbox",
                        source=INBOX,
                    )
                    runs.append(outcome.run.id)
                    log.info(
                        "reconciliation run %s: %s", outcome.run.id, " / ".join(summary_lines(outcome.run))
                    )
            except Exception:
                reconcile_inbox.release(claimed, path)
                raise
        return runs

    return SimpleNamespace(
        directlink_check=directlink_check,
        directlink_sweep=directlink_sweep,
        reconcile_inbox=reconcile_inbox_task,
    )

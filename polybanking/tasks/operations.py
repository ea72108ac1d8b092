"""Refunds, captures and cancellations: the platform is asked here, outside any transaction."""

import logging
from types import SimpleNamespace

from huey import Huey

from ..platforms import PlatformUnavailable
from ..services.operations import run
from ..services.payments.apply import OPERATION, apply_report
from ..services.payments.platforms import platform_for
from ..settings import SettingsError
from .context import TaskContext, task_transaction

log = logging.getLogger(__name__)


def register(huey: Huey, context: TaskContext, send_ipn) -> SimpleNamespace:
    settings = context.settings
    prefix = settings.orderid_prefix

    @huey.task(name="run_operation")
    def run_operation(operation_id: int) -> bool:
        """Ask the platform for one operation and apply its answer; True when the status changed."""
        with task_transaction(context) as dbsession:
            claimed = run.claim(dbsession, operation_id, prefix)
            if claimed is None:
                return False
            try:
                platform = platform_for(settings, claimed.transaction.config)
            except SettingsError as problem:
                platform, error = None, str(problem)
        answer = None
        if platform is not None:
            try:
                answer, error = platform.operate(claimed.order), ""
            except PlatformUnavailable as problem:
                error = str(problem)
        if answer is None:
            log.warning("operation %s: no answer from the platform: %s", operation_id, error)
        with task_transaction(context) as dbsession:
            recorded = run.record_answer(dbsession, operation_id, answer, prefix, error)
            changed = bool(recorded and apply_report(dbsession, *recorded, OPERATION).notify)
            transaction_id = claimed.transaction.id
        if changed:  # after commit, as views/feedback.py does
            send_ipn(transaction_id)
        return changed

    return SimpleNamespace(run_operation=run_operation)

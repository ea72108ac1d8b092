"""Reconciliation pages (superusers): upload a PostFinance report and compare it, read a run's
result, download its differences as CSV, list the runs.

The work is ``services.reconcile_runs``' (the same as the command's and the inbox task's); these
views only read the form, refuse junk with a clear 4xx, and show what was stored.
"""

import logging

from pyramid.response import Response
from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from ...models import Config
from ...models.reconciliation_item import DIFFERENT, FOREIGN, ONLY_POLYBANKING, ONLY_REPORT, UNANSWERED
from ...models.reconciliation_run import UPLOAD, ReconciliationRun
from ...platforms.epayment.statuses import status_text
from ...security import RECONCILIATION_RUN, RECONCILIATION_VIEW
from ...services.admin.queries import MAX_PAGE, PAGE_SIZE, Page
from ...services.reconcile.comparison import CATEGORIES, CATEGORY_TEXT, SAME, Item
from ...services.reconcile.runs import (
    count_runs,
    differences_csv,
    environment_hint,
    list_runs,
    reconcile_file,
    run_items,
    summary_lines,
)
from . import chf
from .forms import read_form, see_other
from .uploads import UploadRefused, uploaded_text_file

log = logging.getLogger(__name__)

TEMPLATES = "polybanking:templates/admin/reconciliation/"
#: Orders listed on a run's page; the CSV download has them all.
ITEMS_SHOWN = 1000
ENVIRONMENTS = ("test", "live")
FIELD_TEXT = {"payid": "PAYID", "amount": "amount", "currency": "currency", "status": "status"}


def money(cents: int | None, currency: str | None) -> str:
    """An amount of one side of an order, in that side's currency (a report may say EUR)."""
    if cents is None:
        return "no amount"
    return chf(cents).replace("CHF", currency or "CHF", 1)


def _page_number(text: str) -> int:
    ok = text.isascii() and text.isdigit() and 0 < len(text) < 7 and 0 < int(text) <= MAX_PAGE
    return int(text) if ok else 1


@view_config(
    route_name="admin.reconciliation.list",
    request_method="GET",
    permission=RECONCILIATION_VIEW,
    renderer=TEMPLATES + "list.jinja2",
)
def run_list(request):
    params = read_form(request, "GET")
    total = count_runs(request.dbsession)
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(_page_number(params.get("page", "")), pages)
    runs = list_runs(request.dbsession, PAGE_SIZE, (number - 1) * PAGE_SIZE)

    def page_url(page: int) -> str:
        return request.route_path("admin.reconciliation.list", _query={"page": page})

    return {
        "page": Page(items=runs, total=total, number=number, size=PAGE_SIZE),
        "page_url": page_url,
        "can_run": request.has_permission(RECONCILIATION_RUN),
    }


@view_defaults(
    route_name="admin.reconciliation.upload",
    permission=RECONCILIATION_RUN,
    renderer=TEMPLATES + "upload.jinja2",
)
class UploadView:
    """GET: the form. POST: read, compare, store the run, then 303 to its result (an unreadable
    report too: its run says why). Junk never reaches the comparison: 400 or 413, nothing stored."""

    def __init__(self, request):
        self.request = request
        self.limit = request.registry.pb_settings.reconcile.upload_max_bytes

    def _page(self, environment: str = "test", error: str = "", status: int = 200) -> dict:
        self.request.response.status_int = status
        return {"environment": environment, "error": error, "max_mb": self.limit // (1024 * 1024)}

    @view_config(request_method="GET")
    def get(self):
        return self._page()

    @view_config(request_method="POST")
    def post(self):
        form = read_form(self.request)
        environment = form.get("environment", "")
        shown = environment if environment in ENVIRONMENTS else "test"
        try:
            upload = uploaded_text_file(self.request, "report", self.limit)  # first: it closes the files
        except UploadRefused as refused:
            return self._page(shown, str(refused), refused.status)
        if environment not in ENVIRONMENTS:
            return self._page(shown, "Choose the environment the report comes from: test or live.", 400)
        user = self.request.identity
        outcome = reconcile_file(
            self.request.dbsession,
            self.request.registry.pb_settings,
            upload.stream,
            upload.name,
            live=environment == "live",
            actor=user.username,
            source=UPLOAD,
            user_id=user.id,
        )
        run = outcome.run
        log.info(
            "user %s compared %r (%d bytes, %s): run %s, %s",
            user.username,
            upload.name,
            upload.size,
            environment,
            run.id,
            "unreadable" if outcome.comparison is None else "matches" if run.matches else "differences",
        )
        return see_other(self.request, "admin.reconciliation.show", run_id=run.id)


def category_totals(run: ReconciliationRun) -> list[tuple[str, str, int, int | None, int | None]]:
    """(category, label, orders, cents in the report, cents in PolyBanking) for the totals table;
    None where a side has nothing to add up."""
    return [
        (SAME, CATEGORY_TEXT[SAME], run.same_count, run.same_cents, run.same_cents),
        (
            DIFFERENT,
            CATEGORY_TEXT[DIFFERENT],
            run.different_count,
            run.different_report_cents,
            run.different_polybanking_cents,
        ),
        (ONLY_REPORT, CATEGORY_TEXT[ONLY_REPORT], run.only_report_count, run.only_report_cents, None),
        (
            ONLY_POLYBANKING,
            CATEGORY_TEXT[ONLY_POLYBANKING],
            run.only_polybanking_count,
            None,
            run.only_polybanking_cents,
        ),
        (UNANSWERED, CATEGORY_TEXT[UNANSWERED], run.unanswered_count, None, run.unanswered_cents),
        (FOREIGN, CATEGORY_TEXT[FOREIGN], run.foreign_count, run.foreign_cents, None),
    ]


@view_config(
    route_name="admin.reconciliation.show",
    request_method="GET",
    permission=RECONCILIATION_VIEW,
    renderer=TEMPLATES + "show.jinja2",
)
def run_show(request):
    run = request.context.run
    items = run_items(request.dbsession, run.id, limit=ITEMS_SHOWN) if run.readable else []
    config_ids = {item.config_id for item in items if item.config_id is not None}
    config_names = dict(
        request.dbsession.execute(select(Config.id, Config.name).where(Config.id.in_(config_ids))).all()
    )
    sections: dict[str, list[Item]] = {name: [] for name in CATEGORIES if name != SAME}
    for item in items:
        sections[item.category].append(item)
    totals = category_totals(run)
    return {
        "run": run,
        "totals": totals,
        "sections": [(name, CATEGORY_TEXT[name], sections[name]) for name in sections],
        "counts": {name: count for name, _label, count, _r, _p in totals},
        "listed": len(items),
        "not_same": sum(count for name, _label, count, _r, _p in totals if name != SAME),
        "config_names": config_names,
        "summary": summary_lines(run),
        "hint": environment_hint(run),
        "field_text": FIELD_TEXT,
        "status_text": status_text,
        "money": money,
    }


@view_config(route_name="admin.reconciliation.csv", request_method="GET", permission=RECONCILIATION_VIEW)
def run_csv(request):
    """Every order of the run not the same, for a spreadsheet (formula-safe cells, UTF-8 with BOM)."""
    run = request.context.run
    response = Response(
        body=differences_csv(run_items(request.dbsession, run.id)).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
    )
    response.content_disposition = f'attachment; filename="reconciliation-{run.id}-differences.csv"'
    return response

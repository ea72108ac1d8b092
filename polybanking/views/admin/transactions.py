"""Transactions: the filtered list (paginated in SQL, newest first) and one transaction's story."""

import logging
from datetime import date

from pyramid.view import view_config
from sqlalchemy import select

from ...models import TransactionLog
from ...platforms.epayment.form import format_order_id
from ...platforms.epayment.statuses import STATUS_TEXT
from ...security import TRANSACTION_LIST, TRANSACTION_OPERATE, TRANSACTION_RESEND, TRANSACTION_VIEW
from ...services.admin.queries import (
    MAX_PAGE,
    SEARCH_MAX_LENGTH,
    STATUS_GROUPS,
    TransactionFilter,
    search_transactions,
    visible_configs,
)
from ...services.ipn import payload as ipn
from ...services.ipn.report import attempt_history
from ...services.operations.money import money_of
from ...tasks.queue import enqueue_after_commit
from .forms import flash, read_form, see_other
from .operations import new_key

log = logging.getLogger(__name__)

TEMPLATES = "polybanking:templates/admin/transactions/"


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _int(text: str, upper: int) -> int | None:
    return (
        int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 10 and int(text) <= upper else None
    )


def parse_filters(params: dict[str, str]) -> tuple[TransactionFilter, dict[str, str]]:
    """Filters from the query string; what cannot be read is ignored (and shown as not applied)."""
    status = params.get("status", "")
    filters = TransactionFilter(
        config_id=_int(params.get("config", ""), 2**31 - 1),
        status=status if status in STATUS_GROUPS or status in STATUS_TEXT else "",
        date_from=_date(params.get("from", "")),
        date_to=_date(params.get("to", "")),
        search=params.get("q", "").strip()[:SEARCH_MAX_LENGTH].replace("\x00", ""),
        page=_int(params.get("page", ""), MAX_PAGE) or 1,
    )
    shown = {
        "config": str(filters.config_id or ""),
        "status": filters.status,
        "from": filters.date_from.isoformat() if filters.date_from else "",
        "to": filters.date_to.isoformat() if filters.date_to else "",
        "q": filters.search,
    }
    return filters, shown


@view_config(
    route_name="admin.transaction.list",
    request_method="GET",
    permission=TRANSACTION_LIST,
    renderer=TEMPLATES + "list.jinja2",
)
def transaction_list(request):
    filters, shown = parse_filters(read_form(request, "GET"))
    zone = request.registry.admin_settings.timezone
    page = search_transactions(request.dbsession, request.identity, filters, zone)
    query = {name: value for name, value in shown.items() if value}

    def page_url(number: int) -> str:
        return request.route_path("admin.transaction.list", _query={**query, "page": number})

    return {
        "page": page,
        "filters": shown,
        "configs": visible_configs(request.dbsession, request.identity),
        "status_groups": STATUS_GROUPS,
        "statuses": STATUS_TEXT,
        "page_url": page_url,
        "date_problem": _date_problem(filters),
    }


def _date_problem(filters: TransactionFilter) -> str:
    """Why the date range cannot match anything, when it cannot (rather than an empty list)."""
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        return (
            f"The “from” date ({filters.date_from:%d.%m.%Y}) is after the “to” date "
            f"({filters.date_to:%d.%m.%Y}): no transaction can match. Swap them?"
        )
    return ""


@view_config(
    route_name="admin.transaction.show",
    request_method="GET",
    permission=TRANSACTION_VIEW,
    renderer=TEMPLATES + "show.jinja2",
)
def transaction_show(request):
    transaction = request.context.transaction
    logs = list(
        request.dbsession.scalars(
            select(TransactionLog)
            .where(TransactionLog.transaction_id == transaction.id)
            .order_by(TransactionLog.when.desc(), TransactionLog.id.desc())
        )
    )
    history = attempt_history(request.dbsession, transaction)
    return {
        "transaction": transaction,
        # What PostFinance's back office and reports call this payment (ORDERID, PROTOCOL §3).
        "order_id": format_order_id(request.registry.pb_settings.orderid_prefix, transaction.id),
        "logs": logs,
        "ipn_history": history,
        "ipn_attempt_count": sum(row.kind != "resend" for row in history),
        "last_attempt": next((row.when for row in history if row.kind != "resend"), None),
        "can_resend": request.has_permission(TRANSACTION_RESEND),
        "money": money_of(request.dbsession, transaction),
        "can_operate": request.has_permission(TRANSACTION_OPERATE),
        "operation_key": new_key(),
    }


@view_config(route_name="admin.transaction.resend", request_method="POST", permission=TRANSACTION_RESEND)
def transaction_resend(request):
    read_form(request)
    transaction = request.context.transaction
    ipn.request_resend(request.dbsession, transaction, by=f"admin {request.identity.username}")
    registry = request.registry
    enqueue_after_commit(request.tm, registry.tasks.send_ipn, transaction.id, breaker=registry.queue_breaker)
    log.info("user %s asked to resend the IPN of transaction %s", request.identity.username, transaction.id)
    flash(request, "The IPN will be sent again in a moment; its attempt appears below.")
    return see_other(request, "admin.transaction.show", transaction_id=transaction.id)

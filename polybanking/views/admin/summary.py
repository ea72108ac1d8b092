"""The summary report: paid transactions per group, config and month, with its SVG bar charts and
tables, and the same as PDF or CSV.

Every signed-in user reaches it and sees the configs they may see only (the sums are filtered in
SQL with ``visible_config_ids``; superusers see all). The work is ``services.summary``'s.
"""

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.response import Response
from pyramid.view import view_config

from ...models.meta import utcnow
from ...security import SUMMARY_VIEW
from ...services.admin.queries import visible_config_ids
from ...services.reports.money import chf_display
from ...services.reports.period import PeriodError
from ...services.reports.summary.as_csv import summary_csv, summary_filename
from ...services.reports.summary.charts import group_chart, overview_chart
from ...services.reports.summary.summary import TRANSACTION_LISTS, Summary, build_summary
from .forms import checked, read_form
from .periods import CHOICES, period_fields, read_period

TEMPLATE = "polybanking:templates/admin/summary/show.jinja2"
#: Paid transactions listed per list on the page; the PDF and the CSV have them all.
LIST_SHOWN = 1000
LIST_TEXT = {"none": "Not listed", "grouped": "One list per group", "list": "One list"}


def _fields(params: dict[str, str]) -> dict[str, str]:
    return {
        "include_test": "on" if checked(params, "include_test") else "",
        "transactions": params.get("transactions", "") or "none",
        **period_fields(params, "this-year"),
    }


def _summary(request, fields: dict[str, str]) -> Summary:
    """The summary the form asks for, of the configs the user may see; PeriodError if it cannot be."""
    if fields["transactions"] not in TRANSACTION_LISTS:
        raise PeriodError("Choose how to list the paid transactions.")
    return build_summary(
        request.dbsession,
        read_period(fields, request.registry.pb_settings.tz),
        include_test=bool(fields["include_test"]),
        transactions=fields["transactions"],
        now=utcnow(),
        visible=visible_config_ids(request.identity),
    )


@view_config(
    route_name="admin.summary.show", request_method="GET", permission=SUMMARY_VIEW, renderer=TEMPLATE
)
def summary_page(request):
    params = read_form(request, "GET")
    fields = _fields(params)
    page = {
        "form": fields,
        "periods": CHOICES,
        "lists": LIST_TEXT,
        "shown": LIST_SHOWN,
        "francs": chf_display,
    }
    try:
        summary = _summary(request, fields)
    except PeriodError as error:
        request.response.status_int = 400
        return {**page, "error": str(error), "summary": None}
    query = {name: value for name, value in fields.items() if value}
    return {
        **page,
        "error": "",
        "summary": summary,
        "overview_chart": overview_chart(summary),
        "group_charts": [group_chart(summary, group) for group in summary.groups],
        # (label, cents per month, total) per table row
        "overview_rows": [(group.label, group.months, group.total) for group in summary.groups],
        "refunded_rows": [(group.label, group.refunded, group.refunded_total) for group in summary.groups],
        "net_rows": [
            (group.label, _minus(group.months, group.refunded), group.net) for group in summary.groups
        ],
        "net_totals": _minus(summary.month_totals, summary.month_refunded),
        "group_rows": [
            [
                (line.name + (" (test)" if line.test_mode else ""), line.months, line.total)
                for line in group.configs
            ]
            for group in summary.groups
        ],
        "pdf_url": request.route_path("admin.summary.pdf", _query=query),
        "csv_url": request.route_path("admin.summary.csv", _query=query),
    }


def _minus(paid: tuple[int, ...], refunded: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a - b for a, b in zip(paid, refunded, strict=True))


def _download(request) -> Summary:
    try:
        return _summary(request, _fields(read_form(request, "GET")))
    except PeriodError as error:
        raise HTTPBadRequest(str(error)) from None


@view_config(route_name="admin.summary.pdf", request_method="GET", permission=SUMMARY_VIEW)
def summary_pdf(request):
    from ...services.reports.summary.as_pdf import render_pdf  # fpdf2 loads only when a PDF is asked for

    summary = _download(request)
    return Response(
        body=render_pdf(summary),
        content_type="application/pdf",
        content_disposition=f'attachment; filename="{summary_filename(summary, "pdf")}"',
    )


@view_config(route_name="admin.summary.csv", request_method="GET", permission=SUMMARY_VIEW)
def summary_csv_download(request):
    summary = _download(request)
    return Response(
        body="".join(summary_csv(summary)).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        content_disposition=f'attachment; filename="{summary_filename(summary, "csv")}"',
    )

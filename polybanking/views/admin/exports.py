"""Exports of transactions (CSV, JSON, XML, Excel), streamed as a download.

Who gets which file is decided before this code runs: the download's route factory
(``routes.ExportResource``) loads the chosen config and carries its ACL (its allowed users and
superusers), or the superusers-only ACL for all configs; the spec is then built only from the
configs the user may see, in SQL (``visible_config_ids``). The work is ``services.export``'s.
"""

import logging

from pyramid.response import Response
from pyramid.view import view_config

from ...routes import AllConfigsExport
from ...security import EXPORT_DOWNLOAD, EXPORT_VIEW
from ...services.admin.queries import visible_config_ids, visible_configs
from ...services.reports.exports import export as service
from ...services.reports.period import PeriodError
from .forms import checked, read_form
from .periods import CHOICES, period_fields, read_period

log = logging.getLogger(__name__)

TEMPLATE = "polybanking:templates/admin/exports/form.jinja2"
FORMAT_TEXT = {
    "csv": "CSV (spreadsheets, without the logs)",
    "xlsx": "Excel (amounts and dates as numbers)",
    "json": "JSON (with each transaction's log)",
    "xml": "XML (with each transaction's log)",
}


def _fields(params: dict[str, str]) -> dict[str, str]:
    return {
        "config": params.get("config", ""),
        "format": params.get("format", "") or "csv",
        "only_good": "on" if checked(params, "only_good") else "",
        **period_fields(params, "this-month"),
    }


def _form(request, fields: dict[str, str], error: str = "", status: int = 200) -> dict:
    request.response.status_int = status
    return {
        "form": fields,
        "error": error,
        "configs": visible_configs(request.dbsession, request.identity),
        "can_export_all": bool(request.has_permission(EXPORT_DOWNLOAD, AllConfigsExport(request))),
        "formats": FORMAT_TEXT,
        "periods": CHOICES,
    }


@view_config(route_name="admin.export.form", request_method="GET", permission=EXPORT_VIEW, renderer=TEMPLATE)
def export_form(request):
    return _form(request, _fields(read_form(request, "GET")))


@view_config(
    route_name="admin.export.download", request_method="GET", permission=EXPORT_DOWNLOAD, renderer=TEMPLATE
)
def export_download(request):
    """The file, streamed (each batch read in a short transaction of its own, after this request's
    has ended); a period or format that cannot be gets the form again with a 400."""
    fields = _fields(read_form(request, "GET"))
    config = request.context.config
    user = request.identity
    try:
        spec = service.build_spec(
            request.dbsession,
            fields["format"],
            read_period(fields, request.registry.pb_settings.tz),
            None if config is None else config.id,
            only_good=bool(fields["only_good"]),
            visible=visible_config_ids(user),
        )
    except (PeriodError, service.ExportError) as error:
        return _form(request, fields, str(error), 400)
    name = service.filename(spec)
    log.info("user %s exports %s", user.username, name)
    return Response(
        app_iter=service.stream(request.registry["dbengine"], spec),
        headerlist=[
            ("Content-Type", service.content_type(spec)),
            ("Content-Disposition", f'attachment; filename="{name}"'),
        ],
    )

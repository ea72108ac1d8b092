"""The home page: what needs attention now, within the configs the user may see; for superusers,
the latest reconciliation with PostFinance's reports too (matches, differences or unreadable)."""

from pyramid.view import view_config

from ...models.meta import utcnow
from ...routes import ReconciliationRoot
from ...security import HOME, RECONCILIATION_VIEW
from ...services.admin.attention import attention
from ...services.reconcile.runs import list_runs


@view_config(
    route_name="admin.home",
    request_method="GET",
    permission=HOME,
    renderer="polybanking:templates/admin/home.jinja2",
)
def home(request):
    zone = request.registry.admin_settings.timezone
    reconciliation = request.has_permission(RECONCILIATION_VIEW, ReconciliationRoot(request))
    return {
        "attention": attention(request.dbsession, request.identity, zone, utcnow()),
        "show_reconciliation": bool(reconciliation),
        "latest_run": next(iter(list_runs(request.dbsession, limit=1)), None) if reconciliation else None,
    }

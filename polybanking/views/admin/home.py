"""The home page: what needs attention now, within the configs the user may see."""

from pyramid.view import view_config

from ...models.meta import utcnow
from ...security import HOME
from ...services.admin_queries import attention


@view_config(
    route_name="admin.home",
    request_method="GET",
    permission=HOME,
    renderer="polybanking:templates/admin/home.jinja2",
)
def home(request):
    zone = request.registry.admin_settings.timezone
    return {"attention": attention(request.dbsession, request.identity, zone, utcnow())}

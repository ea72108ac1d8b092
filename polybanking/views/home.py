"""``/``: what a person who opens the gateway's address finds — where to go next.

After `make run` this is the URL people open first: it links the demo shop and the sandbox (when
the sandbox is on), the admin pages, and, while no admin user exists, says how to create one.
"""

from pyramid.view import view_config

from ..services.admin.users import has_users
from ..settings import as_bool


@view_config(route_name="home", request_method=("GET", "HEAD"), renderer="polybanking:templates/home.jinja2")
def home(request):
    settings = request.registry.settings
    return {
        "sandbox": as_bool(settings.get("sandbox.enabled", "false")),
        "no_admin_yet": not has_users(request.dbsession),
    }

"""Configs: list, show, create, edit, switch on/off, allowed users and the change log.

Which configs a user reaches is decided by the route factories' ACLs (routes.py); the list only
shows the visible ones (services.admin_queries).
"""

from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from ...models import ConfigLog, User
from ...security import CONFIG_ADMIN, CONFIG_CREATE, CONFIG_EDIT, CONFIG_LIST, CONFIG_VIEW
from ...services.admin import configs as service
from ...services.admin.queries import visible_configs
from .forms import checked, flash, read_form, see_other

TEMPLATES = "polybanking:templates/admin/configs/"
LOG_ROWS = 500


def _form_of(config) -> dict[str, str]:
    return {
        "name": config.name,
        "url_ipn": config.url_ipn,
        "url_back_ok": config.url_back_ok,
        "url_back_err": config.url_back_err,
        "group": config.group,
        "max_amount": "" if config.max_amount is None else f"{config.max_amount / 100:.2f}",
        "environment": "test" if config.test_mode else "live",
        "platform": config.platform,
        "ipn_format": config.ipn_format,
    }


@view_config(
    route_name="admin.config.list",
    request_method="GET",
    permission=CONFIG_LIST,
    renderer=TEMPLATES + "list.jinja2",
)
def config_list(request):
    return {
        "configs": visible_configs(request.dbsession, request.identity),
        "can_create": request.has_permission(CONFIG_CREATE),
    }


@view_defaults(route_name="admin.config.create", permission=CONFIG_CREATE, renderer=TEMPLATES + "form.jinja2")
class ConfigCreateView:
    def __init__(self, request):
        self.request = request

    def _page(self, form, errors=None, status=200):
        self.request.response.status_int = status
        return {
            "config": None,
            "form": form,
            "errors": errors or {},
            "can_admin": False,
            "can_switch": self.can_switch,
            "has_prod": self.request.registry.pb_settings.prod is not None,
        }

    @property
    def can_switch(self) -> bool:
        return bool(self.request.has_permission(CONFIG_ADMIN))

    @view_config(request_method="GET")
    def get(self):
        return self._page({"environment": "test", "platform": "epayment", "ipn_format": "form"})

    @view_config(request_method="POST")
    def post(self):
        form = read_form(self.request)
        try:
            values = service.parse_form(form, self.request.registry.pb_settings)
            problem = service.environment_problem(None, values, self.can_switch, confirmed=True)
            if problem:
                return self._page(form, {"environment": problem}, 400)
            config = service.create(self.request.dbsession, values, self.request.identity)
        except service.ConfigError as error:
            return self._page(form, error.errors, 400)
        flash(self.request, f"Config “{config.name}” created with new keys.")
        return see_other(self.request, "admin.config.show", config_id=config.id)


@view_config(
    route_name="admin.config.show",
    request_method="GET",
    permission=CONFIG_VIEW,
    renderer=TEMPLATES + "show.jinja2",
)
def config_show(request):
    context = request.context
    return {
        "config": context.config,
        "ipn_format_name": service.IPN_FORMAT_NAMES.get(context.config.ipn_format, context.config.ipn_format),
        "can_edit": request.has_permission(CONFIG_EDIT),
        "can_admin": request.has_permission(CONFIG_ADMIN),
    }


@view_defaults(route_name="admin.config.edit", permission=CONFIG_EDIT, renderer=TEMPLATES + "form.jinja2")
class ConfigEditView:
    def __init__(self, request):
        self.request = request
        self.config = request.context.config
        self.can_admin = bool(request.has_permission(CONFIG_ADMIN))

    def _page(self, form, errors=None, status=200):
        self.request.response.status_int = status
        return {
            "config": self.config,
            "form": form,
            "errors": errors or {},
            "can_admin": self.can_admin,
            "can_switch": self.can_admin,
            "has_prod": self.request.registry.pb_settings.prod is not None,
        }

    @view_config(request_method="GET")
    def get(self):
        flags = {flag: "on" if getattr(self.config, flag) else "" for flag in ("admin_enable", "api_refunds")}
        return self._page({**_form_of(self.config), **flags})

    @view_config(request_method="POST")
    def post(self):
        form = read_form(self.request)
        if not self.can_admin:  # the environment's buttons are disabled for them: not sent
            form.setdefault("environment", "test" if self.config.test_mode else "live")
        user = self.request.identity
        try:
            values = service.parse_form(form, self.request.registry.pb_settings)
            problem = service.environment_problem(
                self.config.test_mode, values, self.can_admin, checked(form, "confirm_environment")
            )
            if problem:
                return self._page(form, {"environment": problem}, 400)
            changes = service.update(self.request.dbsession, self.config, values, user)
        except service.ConfigError as error:
            return self._page(form, error.errors, 400)
        for flag in ("admin_enable", "api_refunds") if self.can_admin else ():
            if service.set_flag(self.request.dbsession, self.config, flag, checked(form, flag), user):
                changes.append(flag)
        flash(self.request, "Config saved." if changes else "Nothing changed.")
        return see_other(self.request, "admin.config.show", config_id=self.config.id)


@view_config(route_name="admin.config.active", request_method="POST", permission=CONFIG_EDIT)
def config_active(request):
    form = read_form(request)
    config = request.context.config
    active = form.get("active") == "1"
    service.set_flag(request.dbsession, config, "active", active, request.identity)
    flash(request, f"Config {'activated' if active else 'deactivated'}.")
    return see_other(request, "admin.config.show", config_id=config.id)


@view_defaults(route_name="admin.config.users", permission=CONFIG_ADMIN, renderer=TEMPLATES + "users.jinja2")
class AllowedUsersView:
    def __init__(self, request):
        self.request = request
        self.config = request.context.config

    @view_config(request_method="GET")
    def get(self):
        users = list(self.request.dbsession.scalars(select(User).order_by(User.username)))
        allowed = {user.id for user in self.config.allowed_users}
        operators = {user.id for user in self.config.operators}
        return {"config": self.config, "users": users, "allowed": allowed, "operators": operators}

    @view_config(request_method="POST")
    def post(self):
        changes = []
        for field, relation in (("user", "allowed_users"), ("operator", "operators")):
            try:
                values = self.request.POST.getall(field)
            except (UnicodeDecodeError, ValueError):
                values = []
            ids = {
                int(v) for v in values if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) < 10
            }
            changes += service.set_allowed_users(
                self.request.dbsession, self.config, ids, self.request.identity, relation
            )
        flash(self.request, "Allowed users saved." if changes else "Nothing changed.")
        return see_other(self.request, "admin.config.show", config_id=self.config.id)


@view_defaults(route_name="admin.config.key", permission=CONFIG_EDIT, renderer=TEMPLATES + "key.jinja2")
class RegenerateKeyView:
    """GET asks for confirmation (the old key stops working at once); POST regenerates."""

    def __init__(self, request):
        self.request = request
        self.config = request.context.config
        self.key_name = request.context.key_name

    @view_config(request_method="GET")
    def get(self):
        return {"config": self.config, "key_name": self.key_name}

    @view_config(request_method="POST")
    def post(self):
        read_form(self.request)
        service.regenerate_key(self.request.dbsession, self.config, self.key_name, self.request.identity)
        flash(self.request, f"{self.key_name} regenerated: update the website with the new key.")
        return see_other(self.request, "admin.config.show", config_id=self.config.id)


@view_config(
    route_name="admin.config.log",
    request_method="GET",
    permission=CONFIG_VIEW,
    renderer=TEMPLATES + "log.jinja2",
)
def config_log(request):
    config = request.context.config
    entries = request.dbsession.scalars(
        select(ConfigLog)
        .where(ConfigLog.config_id == config.id)
        .order_by(ConfigLog.when.desc(), ConfigLog.id.desc())
        .limit(LOG_ROWS)
    )
    return {"config": config, "entries": list(entries)}

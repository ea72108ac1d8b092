"""Admin accounts (superusers only): list, create, edit rights, set a password, disable."""

from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from ...models import Config, User, config_allowed_users
from ...security import USER_MANAGE
from ...services.admin.users import UserChanges, UserError, create_user, update_user
from .forms import checked, flash, read_form, see_other

TEMPLATES = "polybanking:templates/admin/users/"


@view_config(
    route_name="admin.user.list",
    request_method="GET",
    permission=USER_MANAGE,
    renderer=TEMPLATES + "list.jinja2",
)
def user_list(request):
    users = list(request.dbsession.scalars(select(User).order_by(User.username)))
    pairs = request.dbsession.execute(
        select(config_allowed_users.c.user_id, Config.name)
        .join(Config, Config.id == config_allowed_users.c.config_id)
        .order_by(Config.name)
    )
    configs: dict[int, list[str]] = {}
    for user_id, name in pairs:
        configs.setdefault(user_id, []).append(name)
    return {"users": users, "configs": configs, "backend": request.registry.admin_settings.backend}


@view_defaults(route_name="admin.user.create", permission=USER_MANAGE, renderer=TEMPLATES + "form.jinja2")
class UserCreateView:
    def __init__(self, request):
        self.request = request

    @view_config(request_method="GET")
    def get(self):
        return {"user": None, "form": {}, "error": ""}

    @view_config(request_method="POST")
    def post(self):
        form = read_form(self.request)
        try:
            user = create_user(
                self.request.dbsession,
                form.get("username", ""),
                form.get("password", ""),
                superuser=checked(form, "is_superuser"),
                staff=checked(form, "is_staff"),
            )
        except UserError as error:
            self.request.response.status_int = 400
            return {
                "user": None,
                "form": {k: v for k, v in form.items() if k != "password"},
                "error": str(error),
            }
        flash(self.request, f"User {user.username} created.")
        return see_other(self.request, "admin.user.list")


@view_defaults(route_name="admin.user.edit", permission=USER_MANAGE, renderer=TEMPLATES + "form.jinja2")
class UserEditView:
    def __init__(self, request):
        self.request = request
        self.user = request.context.user

    def _form(self) -> dict[str, str]:
        user = self.user
        return {
            "username": user.username,
            "is_superuser": "on" if user.is_superuser else "",
            "is_staff": "on" if user.is_staff else "",
            "is_active": "on" if user.is_active else "",
        }

    @view_config(request_method="GET")
    def get(self):
        return {"user": self.user, "form": self._form(), "error": ""}

    @view_config(request_method="POST")
    def post(self):
        form = read_form(self.request)
        changes = UserChanges(
            superuser=checked(form, "is_superuser"),
            staff=checked(form, "is_staff"),
            active=checked(form, "is_active"),
            password=form.get("password", ""),
        )
        try:
            done = update_user(self.request.dbsession, self.user, changes, self.request.identity)
        except UserError as error:
            self.request.response.status_int = 400
            return {"user": self.user, "form": self._form(), "error": str(error)}
        flash(self.request, f"User {self.user.username}: {', '.join(done)}." if done else "Nothing changed.")
        return see_other(self.request, "admin.user.list")

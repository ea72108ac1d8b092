"""Signing in (local password or Tequila) and out. Every form here carries the CSRF token."""

import logging

from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther, HTTPServiceUnavailable
from pyramid.security import forget, remember
from pyramid.view import view_config, view_defaults

from ...auth.tequila import TequilaClient, TequilaError, is_valid_key
from ...params import client_ip
from ...security import HOME
from ...services.admin.users import SignInRefused, sign_in_local, sign_in_tequila, sign_out_everywhere
from .forms import read_form, safe_next

log = logging.getLogger(__name__)

SESSION_TEQUILA_KEY = "tequila_key"
SESSION_NEXT = "next"
LOGIN_TEMPLATE = "polybanking:templates/admin/login.jinja2"


def tequila_client(request) -> TequilaClient:
    settings = request.registry.admin_settings.tequila
    return TequilaClient(settings.server, settings.service, settings.timeout)


@view_defaults(route_name="admin.login", renderer=LOGIN_TEMPLATE)
class LoginView:
    def __init__(self, request):
        self.request = request
        self.backend = request.registry.admin_settings.backend

    def _page(self, status: int = 200, **extra):
        self.request.response.status_int = status
        return {"backend": self.backend, "next": self.request.params.get("next", "")[:500], **extra}

    @view_config(request_method="GET")
    def get(self):
        if self.request.identity is not None:
            return HTTPSeeOther(location=self.request.route_url("admin.home"))
        return self._page()

    @view_config(request_method="POST")
    def post(self):
        form = read_form(self.request)
        if self.backend != "local":
            raise HTTPBadRequest("Sign in with Tequila.")
        username = form.get("username", "")
        try:
            user = sign_in_local(
                self.request.dbsession, username, form.get("password", ""), client_ip(self.request)
            )
        except SignInRefused as refused:
            if refused.retry_after:
                self.request.response.headers["Retry-After"] = str(refused.retry_after)
                return self._page(429, error="Too many failed attempts: try again later.", username=username)
            return self._page(400, error="Wrong username or password.", username=username)
        headers = remember(self.request, user.id)
        return HTTPSeeOther(location=safe_next(self.request, form.get("next", "")), headers=headers)


@view_defaults(route_name="admin.login.tequila")
class TequilaLoginView:
    """POST starts the exchange (createrequest, then the browser goes to Tequila); Tequila sends the
    browser back here with GET ``?key=…``, and fetchattributes says who it was."""

    def __init__(self, request):
        self.request = request
        if request.registry.admin_settings.backend != "tequila":
            raise HTTPNotFound()

    @view_config(request_method="POST")
    def start(self):
        form = read_form(self.request)
        client = tequila_client(self.request)
        try:
            # The public URL from the settings, never one built from the request's Host header.
            return_url = self.request.registry.pb_settings.url(self.request.route_path("admin.login.tequila"))
            key = client.create_request(return_url)
        except TequilaError as error:
            log.error("Tequila unavailable: %s", error)
            raise HTTPServiceUnavailable("Tequila cannot be reached; try again in a moment.") from None
        self.request.session[SESSION_TEQUILA_KEY] = key
        self.request.session[SESSION_NEXT] = form.get("next", "")[:500]
        return HTTPSeeOther(location=client.auth_url(key))

    @view_config(request_method="GET", renderer=LOGIN_TEMPLATE)
    def back(self):
        key = self.request.GET.get("key", "")
        expected = self.request.session.pop(SESSION_TEQUILA_KEY, None)
        ip = client_ip(self.request)
        if not expected or not is_valid_key(key) or key != expected:
            log.warning("Tequila return refused from %s: key missing or not this session's", ip)
            self.request.response.status_int = 400
            return {"backend": "tequila", "next": "", "error": "This sign-in link is not valid; start again."}
        try:
            identity = tequila_client(self.request).fetch_attributes(key)
            user = sign_in_tequila(
                self.request.dbsession, identity, self.request.registry.admin_settings.tequila.autocreate, ip
            )
        except TequilaError as error:
            log.error("Tequila sign-in failed: %s", error)
            self.request.response.status_int = 502
            return {"backend": "tequila", "next": "", "error": "Tequila did not confirm the sign-in."}
        except SignInRefused:
            self.request.response.status_int = 403
            return {"backend": "tequila", "next": "", "error": "You have no PolyBanking account."}
        target = self.request.session.pop(SESSION_NEXT, "")
        headers = remember(self.request, user.id)
        return HTTPSeeOther(location=safe_next(self.request, target), headers=headers)


@view_config(route_name="admin.logout", request_method="POST")
def logout(request):
    if request.identity is not None:
        log.info("user %s signed out", request.identity.username)
    headers = forget(request)
    return HTTPSeeOther(location=request.route_url("admin.login"), headers=headers)


@view_config(route_name="admin.logout.everywhere", request_method="POST", permission=HOME)
def logout_everywhere(request):
    """End every session of the signed-in user: other browsers, and any copy of a cookie."""
    sign_out_everywhere(request.dbsession, request.identity)
    headers = forget(request)
    return HTTPSeeOther(location=request.route_url("admin.login"), headers=headers)

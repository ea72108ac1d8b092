"""Refusals: a visitor who is not signed in is sent to the sign-in page; a signed-in user without
the right gets 403; a form without a valid CSRF token gets 400. Nothing was changed in any case."""

import logging
from urllib.parse import urlencode

from pyramid.csrf import get_csrf_token
from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import (
    HTTPBadRequest,
    HTTPRequestEntityTooLarge,
    HTTPSeeOther,
    HTTPServiceUnavailable,
)
from pyramid.view import exception_view_config, forbidden_view_config

from ...params import client_ip

log = logging.getLogger(__name__)

ERROR_TEMPLATE = "polybanking:templates/admin/error.jinja2"
ADMIN_PATHS = r"^/admin/"  # other areas (API, payment pages) answer their own errors


def _page(request, status: int, title: str, message: str):
    request.response.status_int = status
    return {"title": title, "message": message}


@forbidden_view_config(renderer=ERROR_TEMPLATE, path_info=ADMIN_PATHS)  # the API answers its own 403s
def forbidden(request):
    if request.identity is None:
        if request.method in ("GET", "HEAD"):
            query = urlencode({"next": request.path_qs}) if request.path_qs.startswith("/admin/") else ""
            return HTTPSeeOther(location=request.route_url("admin.login") + (f"?{query}" if query else ""))
        return _page(request, 403, "Sign in first", "You are not signed in.")
    log.warning(
        "user %s refused %s %s", request.identity.username, request.method, request.environ.get("PATH_INFO")
    )
    return _page(request, 403, "Not allowed", "You may not see or change this.")


@exception_view_config(BadCSRFToken, renderer=ERROR_TEMPLATE)
def bad_csrf(exc, request):
    path = request.environ.get("PATH_INFO", "")[:200]
    log.warning(
        "form without a valid CSRF token refused: %s %s from %s", request.method, path, client_ip(request)
    )
    get_csrf_token(request)  # a fresh token for the next try (the page's link back)
    return _page(request, 400, "Form expired", "This form is no longer valid: reload the page and try again.")


@exception_view_config(HTTPBadRequest, renderer=ERROR_TEMPLATE, path_info=ADMIN_PATHS)
def bad_request(exc, request):
    return _page(request, 400, "Bad request", exc.detail or "This request cannot be read.")


@exception_view_config(HTTPRequestEntityTooLarge, renderer=ERROR_TEMPLATE, path_info=ADMIN_PATHS)
def too_large(exc, request):
    return _page(request, 413, "Too large", exc.detail or "This request is too large.")


@exception_view_config(HTTPServiceUnavailable, renderer=ERROR_TEMPLATE, path_info=ADMIN_PATHS)
def unavailable(exc, request):
    return _page(request, 503, "Unavailable", exc.detail or "Try again in a moment.")

"""Not found and unexpected errors: a plain page, and the error logged without the request's secrets."""

import logging

from pyramid.view import exception_view_config, notfound_view_config

log = logging.getLogger(__name__)


@notfound_view_config(renderer="polybanking:templates/error.jinja2")
def not_found(request):
    request.response.status_int = 404
    return {"title": "Not found", "message": "There is nothing here."}


@exception_view_config(Exception, renderer="polybanking:templates/error.jinja2")
def server_error(exc, request):
    log.exception("unexpected error on %s %s", request.method, request.path)
    request.response.status_int = 500
    return {"title": "Error", "message": "Something went wrong; it has been logged."}

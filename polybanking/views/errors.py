"""Not found, undecodable URLs and unexpected errors: a plain page, logged without request secrets."""

import logging

from pyramid.exceptions import URLDecodeError
from pyramid.view import exception_view_config, notfound_view_config

log = logging.getLogger(__name__)


def _raw_path(request) -> str:
    """The path as received; ``request.path`` itself fails on bytes that are not UTF-8."""
    return request.environ.get("PATH_INFO", "")[:200]


@notfound_view_config(renderer="polybanking:templates/error.jinja2")
def not_found(request):
    request.response.status_int = 404
    return {"title": "Not found", "message": "There is nothing here."}


@exception_view_config(URLDecodeError, renderer="polybanking:templates/error.jinja2")
def bad_url(exc, request):
    log.info("undecodable URL %r", _raw_path(request))
    request.response.status_int = 400
    return {"title": "Bad request", "message": "This address cannot be read."}


@exception_view_config(Exception, renderer="polybanking:templates/error.jinja2")
def server_error(exc, request):
    log.exception("unexpected error on %s %r", request.method, _raw_path(request))
    request.response.status_int = 500
    return {"title": "Error", "message": "Something went wrong; it has been logged."}

"""Websites start payments; shoppers are forwarded to PostFinance (PROTOCOL §2, §3)."""

import logging

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther, HTTPServiceUnavailable
from pyramid.renderers import render_to_response
from pyramid.view import view_config, view_defaults

from ..params import BadParameters, client_ip, form_dict
from ..platforms import PlatformError
from ..services.payments.forward import ForwardRaced, NotForwardable, forward
from ..services.payments.start import StartError, start_payment
from ..settings import SettingsError

log = logging.getLogger(__name__)


def _answer(request, status: str, url: str, http_status: int):
    request.response.status_int = http_status
    return {"status": status, "url": url}


@view_defaults(route_name="payment.start", renderer="json", require_csrf=False)
class StartView:
    def __init__(self, request):
        self.request = request

    @view_config(request_method="POST")
    def post(self):
        try:
            params = form_dict(self.request)
        except BadParameters:
            log.info("start refused: undecodable parameters")
            return _answer(self.request, "ERROR", "", 400)
        try:
            started = start_payment(self.request.dbsession, params)
        except StartError as error:
            log.info("start refused for config %r: %s", params.get("config_id", "")[:20], error)
            return _answer(self.request, error.status, "", 400)
        url = self.request.registry.pb_settings.url(
            self.request.route_path("payment.go", token=started.token)
        )
        return _answer(self.request, "OK", url, 200)

    @view_config()
    def other_method(self):
        self.request.response.headers["Allow"] = "POST"
        return _answer(self.request, "ERROR", "", 405)


@view_defaults(route_name="payment.go", request_method="GET")
class GoView:
    def __init__(self, request):
        self.request = request

    @view_config(renderer="polybanking:templates/payment/go.jinja2")
    def get(self):
        settings = self.request.registry.pb_settings
        try:
            step = forward(
                self.request.dbsession, settings, self.request.matchdict["token"], client_ip(self.request)
            )
        except NotForwardable as error:
            log.info("go refused: %s", error)
            raise HTTPNotFound() from None
        except SettingsError as error:
            log.error("go impossible: %s", error)
            raise HTTPServiceUnavailable() from None
        except ForwardRaced as error:  # a second tab began it too: this time, resume the first's
            log.info("go: %s", error)
            return HTTPSeeOther(location=self.request.path, headers={"Cache-Control": "no-store"})
        except PlatformError:  # logged by the service, with the platform's own words
            response = self.request.response
            response.status_int = 503
            response.headers.update({"Cache-Control": "no-store", "Retry-After": "10"})
            return render_to_response(
                "polybanking:templates/payment/try_again.jinja2",
                {"retry_url": self.request.path},
                request=self.request,
                response=response,
            )
        if not step.fields:  # a platform page reached by its URL alone (Checkout)
            return HTTPSeeOther(location=step.action_url, headers={"Cache-Control": "no-store"})
        self.request.response.headers["Cache-Control"] = "no-store"
        return {"action_url": step.action_url, "fields": step.fields}

"""PostFinance's feedback: server to server (post-sale) and the shopper's browser (PROTOCOL §5)."""

import logging

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config, view_defaults

from ..params import BadParameters, client_ip, form_items
from ..services.payments.apply import POSTSALE, RETURN, FeedbackRejected, apply_feedback
from ..tasks.queue import enqueue_after_commit

log = logging.getLogger(__name__)


def _queue_ipn_if_changed(request, outcome) -> None:
    if outcome.notify:
        registry = request.registry
        enqueue_after_commit(
            request.tm, registry.tasks.send_ipn, outcome.transaction.id, breaker=registry.queue_breaker
        )


@view_defaults(route_name="payment.ipn", require_csrf=False)
class PostSaleView:
    def __init__(self, request):
        self.request = request

    @view_config(request_method="POST")
    def post(self):
        try:
            params = form_items(self.request)
            outcome = apply_feedback(
                self.request.dbsession,
                self.request.registry.pb_settings,
                params,
                POSTSALE,
                client_ip(self.request),
            )
        except BadParameters:
            log.warning("post-sale refused: undecodable parameters")
            return Response("bad parameters", status=400, content_type="text/plain")
        except FeedbackRejected as error:
            log.warning("post-sale refused from %s: %s", client_ip(self.request), error.reason)
            return Response(error.reason, status=error.http_status, content_type="text/plain")
        _queue_ipn_if_changed(self.request, outcome)
        return Response(b"", status=200, content_type="text/plain")

    @view_config()
    def other_method(self):
        return Response("POST only", status=405, content_type="text/plain", headers={"Allow": "POST"})


@view_defaults(route_name="payment.return", require_csrf=False)
class ReturnView:
    def __init__(self, request):
        self.request = request

    def _error(self, status: int, message: str):
        self.request.response.status_int = status
        return {"message": message}

    @view_config(request_method=("GET", "POST"), renderer="polybanking:templates/payment/error.jinja2")
    def back(self):
        source = "GET" if self.request.method == "GET" else "POST"
        try:
            params = form_items(self.request, source)
            outcome = apply_feedback(
                self.request.dbsession,
                self.request.registry.pb_settings,
                params,
                RETURN,
                client_ip(self.request),
            )
        except BadParameters:
            log.warning("return refused: undecodable parameters")
            return self._error(400, "The payment answer could not be read.")
        except FeedbackRejected as error:
            log.warning("return refused from %s: %s", client_ip(self.request), error.reason)
            if error.http_status == 404:
                return self._error(404, "This payment is unknown.")
            return self._error(400, "The payment answer could not be verified.")
        _queue_ipn_if_changed(self.request, outcome)
        config = outcome.transaction.config
        return HTTPSeeOther(location=config.url_back_ok if outcome.shopper_ok else config.url_back_err)

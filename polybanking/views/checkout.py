"""PostFinance Checkout's webhooks and the shopper's return from its page (PROTOCOL §11)."""

import logging

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config, view_defaults

from ..params import client_ip
from ..platforms import PlatformError
from ..platforms.checkout.webhooks import WebhookRejected
from ..services.payments import checkout
from ..services.payments.apply import RETURN
from ..tasks.queue import enqueue_after_commit

log = logging.getLogger(__name__)


def _text(body: str, status: int) -> Response:
    return Response(body, status=status, content_type="text/plain")


@view_defaults(route_name="payment.checkout.webhook", require_csrf=False)
class WebhookView:
    def __init__(self, request):
        self.request = request

    @view_config(request_method="POST")
    def post(self):
        """Verify, queue the refresh after commit, and answer at once (Checkout retries non-2xx)."""
        request = self.request
        try:
            work = checkout.accept_webhook(
                request.dbsession,
                request.registry.pb_settings,
                request.headers.get("X-Signature", ""),
                request.body,
            )
        except WebhookRejected as error:
            log.warning("Checkout webhook refused from %s: %s", client_ip(request), error.reason)
            return _text(error.reason, error.http_status)
        except PlatformError as error:
            log.error("Checkout webhook not verifiable now: %s", error)
            return _text("try again later", 503)
        tasks, breaker = request.registry.tasks, request.registry.queue_breaker
        if work.transaction_id is not None:
            enqueue_after_commit(request.tm, tasks.checkout_refresh, work.transaction_id, breaker=breaker)
        elif work.refund_id is not None:
            enqueue_after_commit(
                request.tm,
                tasks.checkout_refund_refresh,
                work.test_mode,
                work.refund_id,
                breaker=breaker,
                subject=f"Checkout refund {work.refund_id}",
            )
        return _text("", 200)

    @view_config()
    def other_method(self):
        return Response("POST only", status=405, content_type="text/plain", headers={"Allow": "POST"})


@view_config(
    route_name="payment.checkout.return",
    request_method="GET",
    renderer="polybanking:templates/payment/error.jinja2",
)
def shopper_return(request):
    """Read the state through the API (webhooks may be late or lost), then send the shopper on."""
    question = checkout.returning(request.dbsession, request.registry.pb_settings, request.matchdict["token"])
    if question is None:
        request.response.status_int = 404
        return {"message": "This payment is unknown."}
    try:
        report = checkout.ask(question)
    except PlatformError as error:
        log.error("transaction %s: return not confirmed: %s", question.transaction_id, error)
        request.response.status_int = 503
        request.response.headers["Retry-After"] = "10"
        return {"message": "The payment's outcome could not be confirmed just now; please reload this page."}
    outcome = checkout.apply_answer(request.dbsession, question, report, RETURN, client_ip(request))
    if outcome is None:
        checkout.back_without_answer(request.dbsession, question, client_ip(request))
    elif outcome.notify:
        registry = request.registry
        enqueue_after_commit(
            request.tm, registry.tasks.send_ipn, question.transaction_id, breaker=registry.queue_breaker
        )
    return HTTPSeeOther(location=checkout.back_url(request.dbsession, question, outcome))

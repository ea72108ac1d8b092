"""The sandbox's hosted payment page: checks SHA-IN, lets the tester pick an outcome, then answers
the gateway server to server (post-sale) and sends the browser back, as PostFinance does."""

import logging
from urllib.parse import urlencode

import requests
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ...params import BadParameters, client_ip, form_dict
from ...platforms.epayment.feedback import amount_to_cents
from ...platforms.epayment.sha import check_sha
from ...settings import PostFinanceEnvironment, SettingsError
from . import ENVIRONMENTS
from .feedback import OUTCOMES, feedback_params, new_pay_id, return_url
from .ledger import Entry, Ledger, now_iso

log = logging.getLogger(__name__)

#: Fields the hosted page reads. Others (COM, TITLE, PARAMPLUS …) are not read, but they are signed,
#: so they stay in the order and go back through the page to the decide step.
FORM_FIELDS = (
    "PSPID",
    "ORDERID",
    "AMOUNT",
    "CURRENCY",
    "LANGUAGE",
    "ACCEPTURL",
    "DECLINEURL",
    "EXCEPTIONURL",
    "CANCELURL",
)


#: The hosted page's own buttons and boxes: never part of the merchant's signed form.
SANDBOX_FIELDS = ("OUTCOME", "LOSE_FEEDBACK")
#: The decide form leads, through redirects, to the gateway and then to the website's back page, and
#: browsers apply the form's CSP ``form-action`` to every hop: like PostFinance's own page, the
#: sandbox's must let the shopper go on to any website (the sandbox never runs in production).
HOSTED_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class SandboxError(Exception):
    """Shown the way PostFinance shows order errors: a short code on an error page."""


def _environment(request) -> PostFinanceEnvironment:
    name = request.matchdict["env"]
    if name not in ENVIRONMENTS:
        raise HTTPNotFound()
    try:
        return request.registry.pb_settings.environment(name == "test")
    except SettingsError:
        raise HTTPNotFound() from None


def checked_form(request, env: PostFinanceEnvironment) -> dict[str, str]:
    """The order as sent, after PostFinance's checks (account, fields, SHA-IN)."""
    try:
        received = form_dict(request)
    except BadParameters:
        raise SandboxError("unknown order/0/e/ (the form is not UTF-8)") from None
    upper = {name.upper(): value for name, value in received.items()}
    if upper.get("PSPID") != env.pspid:
        raise SandboxError("unknown order/0/p/ (unknown PSPID)")
    form = {name: upper[name] for name in FORM_FIELDS if upper.get(name)}
    # The outcome button is the sandbox's own field, never part of the merchant's signed form.
    signed = {name: value for name, value in upper.items() if name not in ("SHASIGN", *SANDBOX_FIELDS)}
    algorithm = request.registry.pb_settings.hash_algorithm
    if not check_sha(signed, upper.get("SHASIGN"), env.sha_in, algorithm):
        raise SandboxError("unknown order/1/s/ (SHA-IN signature does not match)")
    if not form.get("ORDERID"):
        raise SandboxError("unknown order/0/o/ (ORDERID is missing)")
    amount = form.get("AMOUNT", "")
    if not (amount.isascii() and amount.isdigit()) or int(amount) <= 0:
        raise SandboxError("unknown order/0/a/ (AMOUNT must be a positive number of cents)")
    if not form.get("CURRENCY"):
        raise SandboxError("unknown order/0/c/ (CURRENCY is missing)")
    order = {name: value for name, value in signed.items() if value}
    order["SHASIGN"] = upper["SHASIGN"]
    return order


def _error(request, message: str):
    log.info("sandbox refused an order: %s", message)
    request.response.status_int = 400
    return {"error": message}


@view_defaults(renderer="polybanking:templates/sandbox/epayment/hosted.jinja2", require_csrf=False)
class HostedPageView:
    def __init__(self, request):
        self.request = request

    @view_config(route_name="sandbox.home", renderer="polybanking:templates/sandbox/home.jinja2")
    def home(self):
        return {}

    @view_config(route_name="sandbox.hosted", request_method="POST")
    def show(self):
        env = _environment(self.request)
        try:
            form = checked_form(self.request, env)
        except SandboxError as error:
            return _error(self.request, str(error))
        self.request.response.headers["Content-Security-Policy"] = HOSTED_PAGE_CSP
        return {
            "env": env.name,
            "form": form,
            "amount_chf": f"{int(form['AMOUNT']) / 100:.2f}",
            "outcomes": list(OUTCOMES),
            "decide_url": self.request.route_path("sandbox.decide", env=env.name),
        }

    @view_config(route_name="sandbox.decide", request_method="POST")
    def decide(self):
        env = _environment(self.request)
        try:
            form = checked_form(self.request, env)
            outcome = form_dict(self.request).get("outcome", "")
        except (SandboxError, BadParameters) as error:
            return _error(self.request, str(error))
        if outcome not in OUTCOMES:
            return _error(self.request, "unknown outcome")
        settings = self.request.registry.pb_settings
        params = feedback_params(
            form,
            outcome,
            env,
            settings.hash_algorithm,
            new_pay_id(),
            client_ip(self.request),
            settings.sha_out_keys,
        )
        record_payment(self.request.registry.sandbox_ledger, env.name, params)
        if form_dict(self.request).get("lose_feedback"):
            # A network failure: PostFinance has the payment, the gateway hears nothing of it.
            return {"env": env.name, "form": form, "done": params["STATUS"], "lost": True}
        post_sale(self.request, params)
        target = return_url(form, outcome)
        if not target:
            return {"env": env.name, "form": form, "done": params["STATUS"]}
        separator = "&" if "?" in target else "?"
        return HTTPSeeOther(location=target + separator + urlencode(params))


def post_sale(request, params: dict[str, str]) -> None:
    """PostFinance's server-to-server request; its failure does not stop the shopper, as there."""
    settings = request.registry.settings
    url = settings.get("sandbox.postsale_url") or request.registry.pb_settings.url("/paiements/ipn")
    try:
        answer = requests.post(url, data=params, timeout=10)
        log.info("sandbox post-sale to %s: HTTP %s", url, answer.status_code)
    except requests.RequestException as error:
        log.warning("sandbox post-sale to %s failed: %s", url, error)


def record_payment(ledger: Ledger, env: str, params: dict[str, str]) -> None:
    """Remember the payment as the back office would list it."""
    when = now_iso()
    ledger.record(
        Entry(
            env=env,
            order_id=params["orderID"],
            pay_id=params["PAYID"],
            pay_id_sub=int(params["PAYIDSUB"]),
            status=params["STATUS"],
            amount=amount_to_cents(params["amount"]) or 0,
            currency=params["currency"],
            brand=params["BRAND"],
            card=params["CARDNO"],
            owner=params["CN"],
            nc_error=params["NCERROR"],
            ordered_at=when,
            changed_at=when,
        )
    )

"""The sandbox's ``maintenancedirect.asp`` (PROTOCOL §10): refunds, captures and cancellations.

Checked as PostFinance does: the API user, SHA-IN over every field sent, the order, the operation
and its amount against what the payment allows; a refusal is NCERROR non-zero with NCERRORPLUS
saying why. To test every path, the cents of the amount choose what happens to an accepted one,
as card test numbers do on real sandboxes: ``…81`` stays pending (81, 91 or 61; settle it later
on the transactions page, with a higher PAYIDSUB), ``…83`` is refused by the acquirer (status 83),
anything else is done at once (8, 9 or 6).
"""

import logging

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.response import Response
from pyramid.view import view_config, view_defaults

from ...params import BadParameters, form_dict
from ...platforms import CANCEL, CAPTURE, REFUND
from ...platforms.epayment.directlink import UNKNOWN_ORDER
from ...platforms.epayment.maintenance import kind_of
from ...platforms.epayment.sha import check_sha
from .backoffice import BAD_CREDENTIALS, api_user_allowed, xml_answer
from .feedback import format_amount
from .views import _environment

log = logging.getLogger(__name__)

BAD_SIGNATURE = "50001111"
NOT_ALLOWED = "50001127"
AMOUNT_TOO_HIGH = "50001048"
#: Per kind: (done, pending, refused by the acquirer).
OUTCOMES = {REFUND: ("8", "81", "83"), CAPTURE: ("9", "91", "93"), CANCEL: ("6", "61", "63")}


@view_defaults(require_csrf=False)
class MaintenanceView:
    def __init__(self, request):
        self.request = request
        self.env = _environment(request)
        self.ledger = request.registry.sandbox_ledger

    @view_config(route_name="sandbox.maintenance", request_method="POST")
    def operate(self):
        try:
            received = {name.upper(): value for name, value in form_dict(self.request).items()}
        except BadParameters:
            raise HTTPBadRequest() from None
        order_id, pay_id = received.get("ORDERID", ""), received.get("PAYID", "")
        base = {"orderID": order_id, "PAYID": pay_id or "0", "NCSTATUS": "5"}

        def refuse(code: str, why: str) -> Response:
            log.info("sandbox maintenance refused: %s", why)
            return xml_answer(base | {"NCERROR": code, "NCERRORPLUS": why})

        env = self.env
        if not api_user_allowed(received, env):
            return refuse(BAD_CREDENTIALS, "Invalid PSPID, USERID or password")
        signed = {name: value for name, value in received.items() if name != "SHASIGN"}
        if not check_sha(
            signed, received.get("SHASIGN"), env.sha_in, self.request.registry.pb_settings.hash_algorithm
        ):
            return refuse(BAD_SIGNATURE, "unknown order/1/s/ (SHA-IN signature does not match)")
        entry = (
            self.ledger.latest(env.name, order_id=order_id, pay_id=pay_id) if (order_id or pay_id) else None
        )
        if entry is None:
            return refuse(UNKNOWN_ORDER, "unknown orderid")
        base = {"orderID": entry.order_id, "PAYID": entry.pay_id, "NCSTATUS": "5"}
        kind = kind_of(received.get("OPERATION", ""))
        if kind is None:
            return refuse(NOT_ALLOWED, "unknown OPERATION")
        raw = received.get("AMOUNT", "")
        if raw and not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 12 and int(raw) > 0):
            return refuse(NOT_ALLOWED, "AMOUNT must be a positive number of cents")
        if kind == REFUND:
            left = entry.amount - self.ledger.refunded(env.name, entry.pay_id)
            if not self.ledger.was_paid(env.name, entry.pay_id) or entry.status not in ("9", "8", "81", "83"):
                return refuse(NOT_ALLOWED, f"operation not allowed for status {entry.status}")
            amount = int(raw) if raw else left
            if amount > left or left <= 0:
                return refuse(AMOUNT_TOO_HIGH, f"amount too high: {left} cents may still be refunded")
        else:
            if entry.status != "5":
                return refuse(NOT_ALLOWED, f"operation not allowed for status {entry.status}")
            amount = int(raw) if raw else entry.amount
            if amount != entry.amount:
                return refuse(NOT_ALLOWED, "the sandbox captures and cancels whole amounts only")
        done, pending, refused = OUTCOMES[kind]
        status = {81: pending, 83: refused}.get(amount % 100, done)
        line = self.ledger.add_operation(entry, status, amount)
        return xml_answer(
            {
                "orderID": line.order_id,
                "PAYID": line.pay_id,
                "PAYIDSUB": str(line.pay_id_sub),
                "NCSTATUS": "0",
                "NCERROR": "0",
                "NCERRORPLUS": "!",
                "STATUS": status,
                "amount": format_amount(amount),
                "currency": line.currency,
            }
        )

"""The sandbox's back office: DirectLink status queries (PROTOCOL §9), the list of its transactions
with later operations (resolve an uncertain payment, capture, refund…), and the transaction report
download in PostFinance's CSV format (§8), so that reconciliation runs locally end to end."""

import io
import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config, view_defaults

from ...params import BadParameters, form_dict
from ...platforms.epayment.directlink import UNKNOWN_ORDER, answer_xml
from ...platforms.epayment.report import format_amount, format_date, write_csv
from ...signing import constant_time_equals
from .feedback import entry_params
from .feedback import format_amount as feedback_amount
from .ledger import ACTIONS, Entry
from .views import _environment, post_sale

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "50001119"


def xml_answer(values: dict[str, str]) -> Response:
    return Response(answer_xml(values), content_type="text/xml", charset="utf-8")


def api_user_allowed(received: dict[str, str], env) -> bool:
    """PSPID, USERID and PSWD (names upper-cased) are the environment's API user's, in constant time."""
    return bool(
        env.userid
        and env.password
        and constant_time_equals(received.get("PSPID", ""), env.pspid)
        and constant_time_equals(received.get("USERID", ""), env.userid)
        and constant_time_equals(received.get("PSWD", ""), env.password)
    )


@view_defaults(require_csrf=False)
class DirectLinkView:
    """``querydirect.asp``: PSPID, USERID, PSWD and ORDERID or PAYID → ``<ncresponse …/>``."""

    def __init__(self, request):
        self.request = request

    @view_config(route_name="sandbox.query", request_method="POST")
    def query(self):
        env = _environment(self.request)
        try:
            received = {name.upper(): value for name, value in form_dict(self.request).items()}
        except BadParameters:
            raise HTTPBadRequest() from None
        order_id, pay_id = received.get("ORDERID", ""), received.get("PAYID", "")
        answer = {"orderID": order_id, "PAYID": pay_id or "0", "NCSTATUS": "5"}
        if not api_user_allowed(received, env):
            log.info("sandbox DirectLink refused: wrong PSPID, USERID or PSWD")
            return xml_answer(
                answer | {"NCERROR": BAD_CREDENTIALS, "NCERRORPLUS": "Invalid PSPID, USERID or password"}
            )
        entry = self.request.registry.sandbox_ledger.latest(env.name, order_id=order_id, pay_id=pay_id)
        if entry is None or not (order_id or pay_id):
            return xml_answer(answer | {"NCERROR": UNKNOWN_ORDER, "NCERRORPLUS": "unknown orderid"})
        return xml_answer(
            {
                "orderID": entry.order_id,
                "PAYID": entry.pay_id,
                "PAYIDSUB": str(entry.pay_id_sub),
                "NCSTATUS": "0",
                "NCERROR": entry.nc_error,
                "NCERRORPLUS": "!",
                "ACCEPTANCE": "test123" if entry.status in ("5", "9") else "",
                "STATUS": entry.status,
                "amount": feedback_amount(entry.amount),
                "currency": entry.currency,
                "PM": "CreditCard",
                "BRAND": entry.brand,
                "CARDNO": entry.card,
            }
        )


def _local(value: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(value).astimezone(zone)


def report_row(entry: Entry, pspid: str, zone: ZoneInfo) -> dict[str, str]:
    """One line of PostFinance's report for one ledger entry (local dates, decimal comma)."""
    ordered, changed = _local(entry.ordered_at, zone), _local(entry.changed_at, zone)
    return {
        "Id": f"{entry.pay_id}/{entry.pay_id_sub}",
        "REF": entry.order_id,
        "ORDER": format_date(ordered),
        "STATUS": entry.status,
        "LIB": entry.status_text,
        "ACCEPT": "test123" if entry.status in ("5", "9") else "",
        "NCID": entry.pay_id,
        "NCSTER": "0/0",
        "PAYDATE": format_date(changed),
        "COUNTRY": "CH",
        "TOTAL": format_amount(entry.line_amount),  # a partial refund or capture line: its own amount
        "CUR": entry.currency,
        "METHOD": "CreditCard",
        "BRAND": entry.brand,
        "CARD": entry.card,
        "USERID": pspid,
        "OWNER": entry.owner,
        "PAYDATETIME": changed.strftime("%d/%m/%Y %H:%M:%S"),
        "ORDERDATETIME": ordered.strftime("%d/%m/%Y %H:%M:%S"),
    }


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise HTTPBadRequest("dates are YYYY-MM-DD") from None


@view_defaults(require_csrf=False)
class BackOfficeView:
    def __init__(self, request):
        self.request = request
        self.env = _environment(request)
        self.ledger = request.registry.sandbox_ledger

    @view_config(route_name="sandbox.report", request_method="GET")
    def report(self):
        """The transactions of ``from`` to ``to`` (order days, local), ISO-8859-1 and CRLF as there."""
        zone = self.request.registry.pb_settings.tz
        first = _day(self.request.GET.get("from", ""))
        last = _day(self.request.GET.get("to", ""))
        rows = []
        for entry in self.ledger.entries(self.env.name):
            day = _local(entry.ordered_at, zone).date()
            if (first and day < first) or (last and day > last):
                continue
            rows.append(report_row(entry, self.env.pspid, zone))
        out = io.StringIO()
        write_csv(rows, out)
        return Response(
            out.getvalue().encode("iso-8859-1", errors="replace"),
            content_type="text/csv",
            charset="iso-8859-1",
            content_disposition=f'attachment; filename="postfinance-{self.env.name}.csv"',
        )

    @view_config(
        route_name="sandbox.transactions",
        request_method="GET",
        renderer="polybanking:templates/sandbox/epayment/transactions.jinja2",
    )
    def list(self):
        """Newest operation first (PAYIDs are random, so their order says nothing of time); times in
        the organisation's zone, as PostFinance's back office shows its merchant's."""
        zone = self.request.registry.pb_settings.tz
        entries = sorted(
            self.ledger.entries(self.env.name), key=lambda e: (e.changed_at, e.pay_id_sub), reverse=True
        )
        return {
            "env": self.env.name,
            "entries": entries,
            "ordered_at": lambda entry: _local(entry.ordered_at, zone).isoformat(" ", "seconds"),
            "actions": list(ACTIONS),
        }

    @view_config(route_name="sandbox.transactions", request_method="POST")
    def change(self):
        """A later operation on a payment, with or without the post-sale PostFinance would send."""
        try:
            form = form_dict(self.request)
        except BadParameters:
            raise HTTPBadRequest() from None
        entry = self.ledger.apply(self.env.name, form.get("pay_id", ""), form.get("action", ""))
        if entry is None:
            raise HTTPBadRequest("no such payment, or the operation does not apply to its status")
        if form.get("postsale"):
            settings = self.request.registry.pb_settings
            post_sale(
                self.request, entry_params(entry, self.env, settings.hash_algorithm, settings.sha_out_keys)
            )
        return HTTPSeeOther(location=self.request.route_path("sandbox.transactions", env=self.env.name))

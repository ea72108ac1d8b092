"""A demo website for `make run`: it signs a payment request like any website would (PROTOCOL §1),
receives the shopper back and keeps the IPNs it gets, so a person can try the whole flow in a browser.

Configured by ``sandbox.shop.config_id``, ``sandbox.shop.key_request`` and ``sandbox.shop.key_ipn``
(``polybanking demo`` passes them through POLYBANKING_SANDBOX_SHOP_* variables), and the same under
``sandbox.shop.checkout.`` for a second config on PostFinance Checkout: the shopper then chooses.
"""

import secrets
from collections import deque
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation

from pyramid.response import Response
from pyramid.view import view_config, view_defaults

from ..params import BadParameters, form_dict
from ..signing import check_sign, compute_sign

IPN_FIELDS = ("config", "reference", "postfinance_status", "postfinance_status_good", "last_update")


def includeme(config) -> None:
    config.registry.sandbox_shop_ipns = deque(maxlen=20)
    config.add_route("sandbox.shop", "/sandbox/shop/")
    config.add_route("sandbox.shop.back", "/sandbox/shop/back/{outcome:ok|err}")
    config.add_route("sandbox.shop.ipn", "/sandbox/shop/ipn")
    config.scan(".shop")


#: The shop's configs: e-payment (``sandbox.shop.*``) and Checkout (``sandbox.shop.checkout.*``).
PLATFORMS = {"epayment": "sandbox.shop.", "checkout": "sandbox.shop.checkout."}


def _local(sent: str, zone: tzinfo) -> str:
    """The IPN's ``last_update`` (UTC, as the protocol sends it) in the organisation's time, for
    people; what was sent is shown beside it."""
    try:
        return datetime.fromisoformat(sent).astimezone(zone).isoformat(" ", "seconds")
    except ValueError:
        return sent


def _shop_settings(request, platform: str = "epayment") -> dict[str, str]:
    settings = request.registry.settings
    prefix = PLATFORMS[platform]
    return {
        name: (settings.get(prefix + name) or "").strip() for name in ("config_id", "key_request", "key_ipn")
    }


def _configured(request) -> dict[str, dict[str, str]]:
    shops = {platform: _shop_settings(request, platform) for platform in PLATFORMS}
    return {platform: shop for platform, shop in shops.items() if all(shop.values())}


@view_defaults(require_csrf=False, renderer="polybanking:templates/sandbox/shop.jinja2")
class DemoShopView:
    def __init__(self, request):
        self.request = request
        self.shop = _shop_settings(request)
        self.shops = _configured(request)

    def _page(self, **extra):
        return {
            "configured": bool(self.shops),
            "config_id": self.shop["config_id"],
            "platforms": list(self.shops),
            "ipns": list(reversed(self.request.registry.sandbox_shop_ipns)),
            **extra,
        }

    @view_config(route_name="sandbox.shop", request_method="GET")
    def home(self):
        return self._page()

    @view_config(route_name="sandbox.shop", request_method="POST")
    def checkout(self):
        try:
            form = form_dict(self.request)
            amount = Decimal(form.get("amount", "").replace(",", "."))
            cents = int(amount * 100)
            valid = amount.is_finite() and cents > 0 and cents == amount * 100
        except (BadParameters, InvalidOperation, ValueError):
            form, valid = {}, False
        shop = self.shops.get(form.get("platform", "epayment"))
        if not valid or shop is None:
            self.request.response.status_int = 400
            return self._page(error="Enter an amount in francs, e.g. 12.50.")
        fields = {
            "amount": str(cents),
            "reference": f"demo-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}",
            "extra_data": "demo shop",
            "config_id": shop["config_id"],
        }
        fields["sign"] = compute_sign(shop["key_request"], fields)
        return self._page(
            start_url=self.request.route_path("payment.start"), fields=fields, amount=f"{cents / 100:.2f}"
        )

    @view_config(route_name="sandbox.shop.back")
    def back(self):
        return self._page(outcome=self.request.matchdict["outcome"])

    @view_config(route_name="sandbox.shop.ipn", request_method="POST", renderer=None)
    def ipn(self):
        try:
            received = form_dict(self.request)
        except BadParameters:
            return Response("bad parameters", status=400)
        signed = {name: received.get(name, "") for name in IPN_FIELDS}
        keys = [shop["key_ipn"] for shop in self.shops.values() if shop["config_id"] == signed["config"]]
        ok = bool(keys) and check_sign(keys[0], signed, received.get("sign"))
        local = _local(signed["last_update"], self.request.registry.pb_settings.tz)
        self.request.registry.sandbox_shop_ipns.append({**signed, "signature_ok": ok, "local_update": local})
        return Response("OK" if ok else "bad signature", status=200 if ok else 403)

"""The example shop's refund button (client/httpd.py), in-process with Flask's test client, against
the real gateway over HTTP: only the shopper's own paid order gets it, and it refunds once."""

import importlib.util
from pathlib import Path

import pytest

from polybanking.sandbox.epayment.ledger import Ledger

from ..platforms import Epayment

HTTPD = Path(__file__).resolve().parents[2] / "client" / "httpd.py"


@pytest.fixture
def shop_app(live_server, app, make_config):
    app.registry.sandbox_ledger = Ledger()
    config = make_config(api_refunds=True)
    spec = importlib.util.spec_from_file_location("example_shop", HTTPD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    settings = {
        "POLYBANKING_SERVER": live_server.url, "CONFIG_ID": str(config.id),
        "KEY_REQUESTS": config.key_request, "KEY_IPN": config.key_ipn, "KEY_API": config.key_api,
        "SECRET_KEY": "test-only",
    }  # fmt: skip
    return module.create_app(settings)


def test_the_shopper_refunds_their_own_order_once(shop_app):
    shopper = shop_app.test_client()
    go = shopper.post("/pay", data={"amount": "12.50"})
    assert go.status_code == 303
    Epayment.shopper_pays(go.location)
    page = shopper.get("/back/ok").get_data(as_text=True)
    assert 'id="refund"' in page
    reference = page.split('name="reference" value="', 1)[1].split('"', 1)[0]
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]

    stranger = shop_app.test_client()
    stranger.get("/back/ok")
    assert 'id="refund"' not in stranger.get("/back/ok").get_data(as_text=True)  # not their order
    assert stranger.post("/refund", data={"reference": reference, "csrf": csrf}).status_code == 403
    assert shopper.post("/refund", data={"reference": reference, "csrf": "forged"}).status_code == 403

    done = shopper.post("/refund", data={"reference": reference, "csrf": csrf}).get_data(as_text=True)
    assert "Refund of 12.50 CHF asked" in done
    again = shopper.post("/refund", data={"reference": reference, "csrf": csrf}).get_data(as_text=True)
    assert "Refund of 12.50 CHF asked" in again and '<span id="state">done</span>' in again  # the same refund
    assert 'id="refund"' not in shopper.get("/back/ok").get_data(as_text=True)  # nothing left

"""polybanking_client against the real gateway over HTTP, used the way websites used the original.

"A website written against the original client library works against this gateway unchanged":
the first test is such a website — the original's constructor (positional, config id as a
string), its method names, its return tuples — and the raw requests
the original library sent are replayed as it built them (reference pasted into the URL as is).
"""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from polybanking_client import (
    AuthenticationError,
    BadRequest,
    PaymentRefused,
    PolyBanking,
    TransactionNotFound,
)

from ..platforms import Epayment
from .test_api import ANY_REFERENCES


def test_a_website_written_for_the_original_library(live_server, app, make_config, receiver, platform):
    config = make_config(platform=platform.name)
    # As the original example shop built it, from config.py strings.
    api = PolyBanking(live_server.url, str(config.id), config.key_request, config.key_ipn, config.key_api)

    (result, url) = api.new_transaction("1250", "order-2026-001")
    assert result == "OK" and url.startswith(f"{live_server.url}/paiements/go/")
    assert platform.shopper_pays(url) == config.url_back_ok

    ipn = receiver.wait_for(len(platform.ipns["pay"]))[-1]  # the last status on the way
    is_ok, message, reference, status, status_good, last_update = api.check_ipn(ipn)
    assert (is_ok, message, reference, status, status_good) == (True, "", "order-2026-001", "9", True)
    assert abs(datetime.now(UTC).replace(tzinfo=None) - last_update) < timedelta(minutes=1)

    transaction_list = api.get_transactions(max_transaction=3)
    assert transaction_list == [{"reference": "order-2026-001"}]
    details = api.get_transaction(transaction_list[0]["reference"])
    assert details["postfinance_status"] == "9" and details["amount"] == "1250"
    assert details["ipn_needed"] == "False" and details["internal_status"] == "fb"
    logs = api.get_transaction_logs(transaction_list[0]["reference"])
    assert logs[-1]["log_type"] == "created" and "ipnsuccess" in {log["log_type"] for log in logs}

    (result, url) = api.new_transaction("1250", "order-2026-001")  # the reference is taken
    assert (result, url) == ("REFERENCE_ERROR", "")
    assert api.get_transaction("order-2026-999") is None
    wrong = PolyBanking(live_server.url, str(config.id), config.key_request, config.key_ipn, "nope")
    assert wrong.get_transactions() is None


@pytest.mark.parametrize("reference", ["2026/07/inv 12", "Café ✓", "a b", "x/y/z"])
def test_requests_built_as_the_original_library_did(live_server, app, make_config, reference):
    """The original pasted the reference into the URL unencoded and sent the form below."""
    config = make_config()
    api = PolyBanking(live_server.url, config.id, config.key_request, config.key_ipn, config.key_api)
    assert api.new_transaction(550, reference).status == "OK"
    form = {"config_id": config.id, "secret": config.key_api, "reference": reference}
    detail = requests.post(f"{live_server.url}/api/transactions/{reference}/", data=form, timeout=10)
    assert detail.json()["result"] == "ok" and detail.json()["data"]["reference"] == reference
    logs = requests.post(f"{live_server.url}/api/transactions/{reference}/logs/", data=form, timeout=10)
    assert [log["log_type"] for log in logs.json()["data"]] == ["created"]
    listing = requests.post(
        f"{live_server.url}/api/transactions/", data={**form, "max_transaction": 100}, timeout=10
    )
    assert listing.json() == {"result": "ok", "data": [{"reference": reference}]}


def test_any_reference_round_trips_through_the_client(live_server, app, make_config):
    config = make_config()
    api = PolyBanking(live_server.url, config.id, config.key_request, config.key_ipn, config.key_api)
    for reference in ANY_REFERENCES:
        status, url = api.new_transaction(100, reference)
        assert status == "OK" and url, reference
    listed = [item["reference"] for item in api.get_transactions(max_transaction=1000)]
    assert sorted(listed) == sorted(ANY_REFERENCES)
    for reference in ANY_REFERENCES:
        assert api.get_transaction(reference)["reference"] == reference
        assert [log["log_type"] for log in api.get_transaction_logs(reference)] == ["created"], reference


def test_typed_errors_from_the_real_gateway(live_server, app, make_config):
    config, other = make_config(), make_config(name="Other")
    api = PolyBanking(
        live_server.url, config.id, config.key_request, config.key_ipn, config.key_api, raise_errors=True
    )
    assert api.new_transaction(550, "r-1").status == "OK"
    with pytest.raises(PaymentRefused) as refused:
        api.new_transaction(550, "r-1")
    assert refused.value.status == "REFERENCE_ERROR"
    with pytest.raises(PaymentRefused) as refused:
        api.new_transaction("5.50", "r-2")
    assert refused.value.status == "AMOUNT_ERROR"
    with pytest.raises(TransactionNotFound):
        api.get_transaction("r-2")
    with pytest.raises(BadRequest):
        api.get_transactions(max_transaction=-1)

    stranger = PolyBanking(
        live_server.url, config.id, other.key_request, other.key_ipn, other.key_api, raise_errors=True
    )
    with pytest.raises(PaymentRefused) as refused:
        stranger.new_transaction(550, "r-3")
    assert refused.value.status == "KEY_ERROR"
    for call in (stranger.get_transactions, lambda: stranger.get_transaction("r-1"),
                 lambda: stranger.get_transaction_logs("r-1")):  # fmt: skip
        with pytest.raises(AuthenticationError) as denied:
            call()
        assert denied.value.status_code == 403


def test_refunds_through_the_client(live_server, app, make_config, receiver):
    from polybanking_client import Refund, RefundRefused

    from polybanking.sandbox.epayment.ledger import Ledger

    app.registry.sandbox_ledger = Ledger()
    config, closed = make_config(api_refunds=True), make_config(name="Closed")
    keys = (config.key_request, config.key_ipn, config.key_api)
    api = PolyBanking(live_server.url, config.id, *keys, raise_errors=True)
    Epayment.shopper_pays(api.new_transaction(1000, "shirt/42").url)

    first = api.refund("shirt/42", idempotency_key="refund-1", amount=400, reason="wrong size")
    assert first == Refund(first.id, 400, "pending", "refund-1", created=True)
    again = api.refund("shirt/42", idempotency_key="refund-1", amount=400)
    assert again == first._replace(state="done", created=False)
    assert api.get_transaction("shirt/42")["refunded_amount"] == "400"
    with pytest.raises(RefundRefused) as too_much:
        api.refund("shirt/42", idempotency_key="refund-2", amount=601)
    assert too_much.value.status_code == 409 and "more than is left" in too_much.value.message
    with pytest.raises(TransactionNotFound):
        api.refund("nope", idempotency_key="refund-3")
    rest = api.refund("shirt/42", idempotency_key="refund-4")
    assert rest.amount == 600
    assert api.get_transaction("shirt/42")["postfinance_status"] == "8"

    refusing = PolyBanking(live_server.url, closed.id, closed.key_request, closed.key_ipn, closed.key_api)
    assert refusing.refund("shirt/42", idempotency_key="x") is None
    strict = PolyBanking(live_server.url, closed.id, closed.key_request, closed.key_ipn, closed.key_api,
                         raise_errors=True)  # fmt: skip
    with pytest.raises(AuthenticationError, match="not allowed"):
        strict.refund("shirt/42", idempotency_key="x")

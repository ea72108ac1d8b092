"""The JSON IPN: a config may ask for a Standard Webhooks JSON body instead of PROTOCOL §6's form.

Checked with the specification's own library (``standardwebhooks``) and with the client library,
as a website would; the form of the websites written for 2014 stays exactly as it was.
"""

import base64
import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
import standardwebhooks
import yaml
from openapi_schema_validator import OAS30Validator
from polybanking_client import InvalidIPN, PolyBanking

from polybanking.services.ipn.delivery import IpnDeliverer
from polybanking.services.ipn.schedule import IpnPolicy

from ..outbox import START, FakeClock, add_due, set_status
from ..website import IPN_FORM_FIELDS, check_ipn_headers
from .test_ipn import postsale, start

POLICY = IpnPolicy(allow_private=True, jitter=0, timeout=5)
OPENAPI = Path(__file__).resolve().parents[2] / "polybanking" / "openapi.yaml"


def documented(event: dict) -> bool:
    """Whether the event is what openapi.yaml's JsonIpn schema says (every error raised)."""
    schema = yaml.safe_load(OPENAPI.read_text())["components"]["schemas"]["JsonIpn"]
    OAS30Validator(schema).validate(event)
    return True


def library_for(key_ipn: str) -> standardwebhooks.Webhook:
    """The Standard Webhooks library's verifier: its secret is base64, our key's UTF-8 bytes."""
    return standardwebhooks.Webhook(base64.b64encode(key_ipn.encode("utf-8")).decode("ascii"))


def client_for(config, **options) -> PolyBanking:
    return PolyBanking(
        "http://127.0.0.1:9", config.id, config.key_request, config.key_ipn, config.key_api, **options
    )


def test_a_json_ipn_of_a_real_payment_is_a_standard_webhooks_message(
    testapp, make_config, receiver, settings, db
):
    config = make_config(ipn_format="json")
    start(testapp, config, reference="order-7", amount="1250")
    postsale(testapp, settings, db)
    (data,) = receiver.wait_for(1)
    headers, body = receiver.headers[0], receiver.raw_bodies[0]
    assert headers["Content-Type"] == "application/json"

    event = library_for(config.key_ipn).verify(body, headers)
    assert documented(event)
    assert event["type"] == "transaction.updated"
    assert event["data"] == data
    assert data == {
        "config": config.id,
        "reference": "order-7",
        "postfinance_status": "9",
        "postfinance_status_good": True,
        "last_update": data["last_update"],
        "amount": "1250",
        "refunded_amount": "0",
        "currency": "CHF",
        "test_mode": True,
    }
    # The event's timestamp is the report's time, which last_update says in the form's shape.
    assert event["timestamp"].endswith("Z")
    assert data["last_update"] == event["timestamp"][:-1].replace("T", " ") + "+00:00"
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        library_for(config.key_ipn).verify(body.replace(b"1250", b"9999"), headers)

    ipn = client_for(config).check_ipn_json(headers, body)
    assert ipn is not None
    assert (ipn.reference, ipn.status, ipn.status_good, ipn.amount, ipn.refunded_amount) == (
        "order-7",
        "9",
        True,
        1250,
        0,
    )
    assert (ipn.test_mode, ipn.currency, ipn.message_id) == (True, "CHF", headers["webhook-id"])
    assert ipn.last_update is not None and ipn.last_update.utcoffset() == timedelta(0)
    assert client_for(config).check_ipn_json(headers, body + b" ") is None
    other = make_config(name="Other")
    other_keys = client_for(config, raise_errors=True)
    other_keys.config_id = other.id
    with pytest.raises(InvalidIPN) as refused:
        other_keys.check_ipn_json(headers, body)  # signed for config, read as other's: not its IPN
    assert refused.value.reason == "CONFIG"


@pytest.mark.parametrize("test_mode", [True, False], ids=["test", "live"])
def test_the_json_body_says_test_mode_and_the_form_stays_as_it_was(make_config, receiver, db, test_mode):
    """``test_mode`` tells a website a test payment from a real one; the form never gains a field."""
    clock = FakeClock()
    deliverer = IpnDeliverer(db.factory, POLICY, clock=clock, rng=random.Random(1))
    json_config = make_config(name="New site", ipn_format="json", test_mode=test_mode)
    form_config = make_config(name="Site of 2014", test_mode=test_mode)
    try:
        for config in (json_config, form_config):
            deliverer.deliver(add_due(db, config, reference=f"order-{config.id}"))
    finally:
        deliverer.close()
    (json_headers, form_headers), (json_body, form_body) = receiver.headers, receiver.raw_bodies
    sent_at = int(START.timestamp())
    assert check_ipn_headers(json_config.key_ipn, json_headers, json_body, now=sent_at)
    assert check_ipn_headers(form_config.key_ipn, form_headers, form_body, now=sent_at)
    event = json.loads(json_body)
    assert documented(event) and event["data"]["test_mode"] is test_mode
    assert event["data"]["amount"] == "550" and "sign" not in event["data"]
    assert form_headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert set(receiver.received[1]) == IPN_FORM_FIELDS


def test_each_message_of_a_json_ipn_has_its_id_and_its_retries_keep_it(make_config, receiver, db):
    receiver.statuses = [500, 200]
    clock = FakeClock()
    deliverer = IpnDeliverer(db.factory, POLICY, clock=clock, rng=random.Random(1))
    config = make_config(ipn_format="json")
    try:
        transaction_id = add_due(db, config, status="5")
        deliverer.deliver(transaction_id)
        clock.advance(timedelta(seconds=5))
        deliverer.deliver_due()
        set_status(db, transaction_id, "9", clock.now)
        deliverer.deliver(transaction_id)
    finally:
        deliverer.close()
    ids = [headers["webhook-id"] for headers in receiver.headers]
    assert ids[0] == ids[1] != ids[2]
    assert [data["postfinance_status"] for data in receiver.received] == ["5", "5", "9"]
    for headers, body in zip(receiver.headers, receiver.raw_bodies, strict=True):
        assert check_ipn_headers(config.key_ipn, headers, body, now=int(headers["webhook-timestamp"]))

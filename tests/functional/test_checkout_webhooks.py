"""Checkout's webhooks at the gateway (PROTOCOL §11): only Checkout's signature is believed, and
even then only as a reason to read the transaction again: forged, replayed, out of order,
duplicate or lost webhooks never move a payment anywhere Checkout's API does not say."""

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from postfinancecheckout.models import Transaction as CheckoutTransaction
from sqlalchemy import select

from polybanking.models import Transaction, TransactionLog
from polybanking.platforms.checkout.platform import report_of
from polybanking.services.payments import checkout
from polybanking.services.payments.apply import POSTSALE

from ..checkout import SPACE, pay_with_checkout
from ..website import path_of, start_params

URL = "/paiements/checkout/webhook"


def body_of(entity_id, state="AUTHORIZED", space_id=SPACE, entity="Transaction") -> bytes:
    return json.dumps(
        {
            "eventId": 1,
            "entityId": entity_id,
            "listenerEntityId": 1472041829003,
            "listenerEntityTechnicalName": entity,
            "spaceId": space_id,
            "webhookListenerId": 4711,
            "timestamp": "2026-12-01T10:00:00.000Z",
            "state": state,
        }
    ).encode()


def post(testapp, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Signature"] = signature
    return testapp.post(URL, body, headers=headers, expect_errors=True)


@pytest.fixture
def begun(testapp, make_config, db):
    """A Checkout payment the shopper was sent to (its Checkout transaction exists, unpaid)."""
    config = make_config(platform="checkout")
    answer = testapp.post("/paiements/start/", start_params(config))
    testapp.get(path_of(answer.json["url"]))
    return db.run(lambda s: int(s.scalar(select(Transaction.postfinance_id))))


def test_anything_not_signed_by_checkout_for_our_transactions_is_refused(
    testapp, app, begun, snapshot, receiver
):
    signer = app.registry.checkout_sandbox_signer
    good = body_of(begun)
    other_key = ec.generate_private_key(ec.SECP256R1())
    forged = base64.b64encode(other_key.sign(good, ec.ECDSA(hashes.SHA256()))).decode()
    before = snapshot()
    cases = [
        (good, None, 401),  # unsigned
        (good, f"algorithm=SHA256withECDSA, keyId={signer.key_id}, signature={forged}", 401),  # forged
        (good.replace(b'"AUTHORIZED"', b'"FULFILL"'), signer.header(good), 401),  # tampered
        (good, signer.header(good).replace(signer.key_id, "0000-unknown"), 401),  # a key Checkout never had
        (good, "signature=whatever", 401),  # malformed header
        (body_of(begun, space_id=999), signer.header(body_of(begun, space_id=999)), 403),  # another space
        (body_of(begun + 10**6), signer.header(body_of(begun + 10**6)), 404),  # not one of ours
        (body_of(begun, space_id=4712), signer.header(body_of(begun, space_id=4712)), 404),  # the live space
        (b"not json", signer.header(b"not json"), 400),
    ]
    for body, signature, status in cases:
        assert post(testapp, body, signature).status_int == status, (body, signature)
    assert snapshot() == before and receiver.received == []
    assert testapp.get(URL, expect_errors=True).status_int == 405


def test_a_signed_webhook_only_makes_the_gateway_read_the_transaction_again(
    testapp, app, begun, db, receiver
):
    signer = app.registry.checkout_sandbox_signer
    body = body_of(begun, state="FULFILL")  # says FULFILL, but Checkout's API says PENDING
    assert post(testapp, body, signer.header(body)).status_int == 200
    status, logs = db.run(
        lambda s: (
            s.scalar(select(Transaction.postfinance_status)),
            s.scalars(select(TransactionLog.log_type)).all(),
        )
    )
    assert status is None and "checkoutWebhook" in logs and receiver.received == []


def test_replayed_and_duplicate_webhooks_change_nothing(testapp, app, make_config, db, receiver):
    config = make_config(platform="checkout")
    _back, _go, checkout_id = pay_with_checkout(testapp, config, "fulfill")
    assert len(receiver.wait_for(4)) == 4
    signer = app.registry.checkout_sandbox_signer
    body = body_of(checkout_id, state="FULFILL")
    signature = signer.header(body)

    def ignored():
        return db.run(
            lambda s: s.scalars(
                select(TransactionLog.extra_data).where(TransactionLog.log_type == "postfinanceRepeated")
            ).all()
        )

    before = ignored()  # the shopper's return read FULFILL once more
    for _ in range(3):  # the same signed webhook again and again (a replay, or Checkout retrying)
        assert post(testapp, body, signature).status_int == 200
    assert receiver.wait_idle() and len(receiver.received) == 4
    assert ignored() == before + ["status 9 again"] * 3


def test_late_webhooks_never_move_a_payment_back(testapp, app, make_config, db, receiver):
    config = make_config(platform="checkout")
    _back, _go, checkout_id = pay_with_checkout(testapp, config, "authorize")
    assert [i["postfinance_status"] for i in receiver.wait_for(2)] == ["51", "5"]
    # The back office completes it, but that webhook is lost; an old PROCESSING one arrives instead.
    testapp.post(
        "/sandbox/checkout/transactions", {"id": str(checkout_id), "operation": "complete", "lose": "1"}
    )
    signer = app.registry.checkout_sandbox_signer
    late = body_of(checkout_id, state="PROCESSING")
    assert post(testapp, late, signer.header(late)).status_int == 200
    assert [i["postfinance_status"] for i in receiver.wait_for(3)] == ["51", "5", "91"]

    # A slow reader's older answer (PROCESSING) applied after the newer one: ignored as stale.
    stale = report_of(
        CheckoutTransaction.from_dict(
            {"id": checkout_id, "state": "PROCESSING", "currency": "CHF", "authorizationAmount": 5.5}
        )
    )

    def apply(session):
        question = checkout.prepare(session, app.registry.pb_settings, session.scalar(select(Transaction.id)))
        outcome = checkout.apply_answer(session, question, stale, POSTSALE)
        return outcome.status_changed, outcome.transaction.postfinance_status, outcome.transaction.ipn_needed

    assert db.run(apply) == (False, "91", False)


@pytest.mark.parametrize(("operation", "status"), [("void", "6"), ("complete", "91")])
def test_later_operations_of_the_back_office_reach_the_website(
    testapp, make_config, receiver, operation, status
):
    config = make_config(platform="checkout")
    _back, _go, checkout_id = pay_with_checkout(testapp, config, "authorize")
    receiver.wait_for(2)
    testapp.post("/sandbox/checkout/transactions", {"id": str(checkout_id), "operation": operation})
    assert receiver.wait_for(3)[-1]["postfinance_status"] == status
    if operation == "complete":
        testapp.post("/sandbox/checkout/transactions", {"id": str(checkout_id), "operation": "fulfill"})
        assert receiver.wait_for(4)[-1]["postfinance_status"] == "9"
    refused = testapp.post(
        "/sandbox/checkout/transactions", {"id": str(checkout_id), "operation": "void"}, expect_errors=True
    )
    assert refused.status_int == 409


def test_a_different_amount_at_checkout_is_flagged_not_accepted(app, make_config, testapp, db, receiver):
    config = make_config(platform="checkout")
    answer = testapp.post("/paiements/start/", start_params(config, amount="550"))
    testapp.get(path_of(answer.json["url"]))
    checkout_id = db.run(lambda s: s.scalar(select(Transaction.postfinance_id)))
    wrong = report_of(
        CheckoutTransaction.from_dict(
            {"id": int(checkout_id), "state": "FULFILL", "currency": "CHF", "authorizationAmount": 0.55}
        )
    )

    def apply(session):
        question = checkout.prepare(session, app.registry.pb_settings, session.scalar(select(Transaction.id)))
        outcome = checkout.apply_answer(session, question, wrong, POSTSALE)
        return outcome.mismatch, outcome.transaction.flagged, outcome.transaction.postfinance_status

    assert db.run(apply) == (True, True, None)
    assert receiver.received == []


def test_a_refund_of_the_whole_amount_reaches_the_website_as_8(testapp, make_config, receiver, db, app):
    config = make_config(platform="checkout")
    _back, _go, checkout_id = pay_with_checkout(testapp, config, "fulfill")
    assert len(receiver.wait_for(4)) == 4
    office = "/sandbox/checkout/transactions"
    testapp.post(office, {"id": str(checkout_id), "operation": "refund-failed"})  # a refund that failed
    assert receiver.wait_idle() and len(receiver.received) == 4
    testapp.post(office, {"id": str(checkout_id), "operation": "refund-successful"})
    ipn = receiver.wait_for(5)[-1]
    assert (ipn["postfinance_status"], ipn["postfinance_status_good"]) == ("8", "False")
    logs = db.run(
        lambda s: s.scalars(
            select(TransactionLog.extra_data).where(TransactionLog.log_type == "checkoutWebhook")
        ).all()
    )
    assert logs.count("refund") == 2
    # A Refund webhook of a space we do not know, or not signed, is refused like any other.
    signer = app.registry.checkout_sandbox_signer
    body = body_of(123, state="SUCCESSFUL", entity="Refund", space_id=999)
    assert post(testapp, body, signer.header(body)).status_int == 403
    assert post(testapp, body_of(123, entity="Refund"), None).status_int == 401


def test_public_keys_are_asked_once_and_unknown_ids_are_not_asked_again(app, settings):
    import base64
    from dataclasses import replace

    from polybanking.platforms import PlatformError
    from polybanking.platforms.checkout.webhooks import PublicKeys, WebhookRejected
    from polybanking.services.payments.platforms import checkout_platform

    keys = PublicKeys()
    platform = checkout_platform(settings, settings.checkout(True))
    signer = app.registry.checkout_sandbox_signer
    # Asked with a wrong key Checkout would refuse (401): only a cached answer can come back.
    refused = replace(platform, authentication_key=base64.b64encode(b"x" * 40).decode())
    with pytest.raises(PlatformError):
        keys.get(refused, signer.key_id)
    assert keys.get(platform, signer.key_id) == signer.public_key
    assert keys.get(refused, signer.key_id) == signer.public_key  # cached: Checkout not asked
    with pytest.raises(WebhookRejected):
        keys.get(platform, "made-up-id")
    with pytest.raises(WebhookRejected):
        keys.get(refused, "made-up-id")  # remembered as unknown: not asked again

"""The status janitor asks Checkout's API about Checkout payments whose webhooks were lost
(PROTOCOL §11): the same sweep, counters and log as DirectLink's, with Checkout's answer applied."""

from datetime import timedelta

from sqlalchemy import update

from polybanking.models import Transaction
from polybanking.models.meta import utcnow

from ..checkout import pay_with_checkout
from ..website import path_of, start_params
from .test_directlink import age, state


def test_a_payment_whose_webhooks_were_lost_is_found_and_the_website_told(
    testapp, make_config, receiver, db, app
):
    tasks = app.registry.tasks
    config = make_config(platform="checkout")
    answer = testapp.post("/paiements/start/", start_params(config))
    page = testapp.get(path_of(answer.json["url"])).location
    testapp.post(path_of(page), {"method": "TWINT", "outcome": "fulfill", "lose": "1"})  # never comes back
    transaction_id = db.run(lambda s: s.query(Transaction.id).scalar())
    assert state(db, transaction_id).internal == "fw" and receiver.received == []

    assert tasks.directlink_sweep.call_local() == []  # forwarded less than 30 minutes ago: not yet
    age(db, transaction_id)
    assert tasks.directlink_sweep.call_local() == [transaction_id]
    after = state(db, transaction_id)
    assert (after.status, after.internal) == ("9", "fb")
    assert ("checkoutQuery", f"status 9, Checkout transaction {after.payid}") in after.logs
    assert [i["postfinance_status"] for i in receiver.wait_for(1, timeout=5)] == ["9"]
    assert tasks.directlink_sweep.call_local() == []  # known now: no more questions


def test_a_completed_payment_is_asked_about_until_fulfilled(testapp, make_config, receiver, db, app):
    tasks = app.registry.tasks
    config = make_config(platform="checkout")
    _back, _go, checkout_id = pay_with_checkout(testapp, config, "authorize")
    testapp.post("/sandbox/checkout/transactions", {"id": str(checkout_id), "operation": "complete"})
    transaction_id = db.run(lambda s: s.query(Transaction.id).scalar())
    assert state(db, transaction_id).status == "91"
    testapp.post(
        "/sandbox/checkout/transactions", {"id": str(checkout_id), "operation": "fulfill", "lose": "1"}
    )
    assert state(db, transaction_id).status == "91" and len(receiver.wait_for(3)) == 3

    age(db, transaction_id)
    assert tasks.directlink_sweep.call_local() == [transaction_id]
    assert state(db, transaction_id).status == "9"
    assert [i["postfinance_status"] for i in receiver.wait_for(4, timeout=5)][-1] == "9"


def test_an_unpaid_checkout_payment_is_asked_about_a_few_times_then_left(testapp, make_config, db, app):
    tasks = app.registry.tasks
    config = make_config(platform="checkout")
    answer = testapp.post("/paiements/start/", start_params(config))
    testapp.get(path_of(answer.json["url"]))  # the shopper never pays
    transaction_id = db.run(lambda s: s.query(Transaction.id).scalar())
    age(db, transaction_id)
    for _ in range(app.registry.pb_settings.reconcile.max_queries):
        db.run(
            lambda s: s.execute(
                update(Transaction).values(directlink_next_at=utcnow() - timedelta(seconds=1))
            )
        )
        assert tasks.directlink_sweep.call_local() == [transaction_id]
    db.run(
        lambda s: s.execute(update(Transaction).values(directlink_next_at=utcnow() - timedelta(seconds=1)))
    )
    assert tasks.directlink_sweep.call_local() == []
    logs = [text for kind, text in state(db, transaction_id).logs if kind == "checkoutQuery"]
    assert logs[0] == "no answer yet (the shopper has not paid)" and logs[-1].endswith("(last check)")
    assert state(db, transaction_id).status is None

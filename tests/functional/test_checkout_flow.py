"""A website's payment through PostFinance Checkout (PROTOCOL §11), end to end against the sandbox:
the official SDK's real JWTs, the sandbox's real P-256 webhook signatures, the same IPN and API."""

import pytest
from sqlalchemy import select

from polybanking.models import Transaction, TransactionLog

from ..checkout import pay_with_checkout
from ..website import path_of, start_params, website_sign

OK, ERR = "http://127.0.0.1:9/shop/ok", "http://127.0.0.1:9/shop/err"


@pytest.fixture
def checkout_config(make_config):
    return make_config(platform="checkout")


def story(db):
    def read(session):
        t = session.scalar(select(Transaction))
        logs = session.scalars(select(TransactionLog.log_type).order_by(TransactionLog.id)).all()
        return t, logs

    return db.run(read)


@pytest.mark.parametrize(
    ("outcome", "method", "statuses", "good", "shop_page"),
    [
        ("fulfill", "TWINT", ["51", "5", "91", "9"], "True", OK),
        ("authorize", "Visa", ["51", "5"], "True", OK),
        ("fail", "Mastercard", ["51", "2"], "False", ERR),
        ("decline", "PostFinance Pay", ["51", "5", "91", "93"], "False", ERR),
    ],
)
def test_each_state_on_the_way_reaches_the_website_once(
    testapp, checkout_config, receiver, db, outcome, method, statuses, good, shop_page
):
    back, _go, checkout_id = pay_with_checkout(testapp, checkout_config, outcome, method)
    assert back.location == shop_page
    ipns = receiver.wait_for(len(statuses))
    assert [ipn["postfinance_status"] for ipn in ipns] == statuses  # one IPN per real change
    last = ipns[-1]
    assert last["postfinance_status_good"] == good and last["reference"] == "order-1"
    assert last["sign"] == website_sign(
        checkout_config.key_ipn, {k: v for k, v in last.items() if k != "sign"}
    )
    transaction, logs = story(db)
    assert transaction.postfinance_id == str(checkout_id) and transaction.brand == method
    assert (transaction.postfinance_status, transaction.internal_status) == (statuses[-1], "fb")
    assert logs.count("checkoutWebhook") == len(statuses) and logs.count("postfinanceStatus") == len(statuses)
    assert {"created", "userForwarded", "postfinanceId", "userBackFromPostfinance", "ipnsuccess"} <= set(logs)
    assert receiver.wait_idle() and len(receiver.received) == len(statuses)  # the return added none


def test_the_api_shows_checkout_payments_as_epayment_ones(testapp, checkout_config, receiver):
    pay_with_checkout(testapp, checkout_config, "fulfill")
    detail = testapp.post(
        "/api/transactions/order-1/",
        {"config_id": str(checkout_config.id), "secret": checkout_config.key_api},
    ).json["data"]
    assert detail["postfinance_status"] == "9" and detail["postfinance_status_text"] == "Payment requested"
    assert detail["brand"] == "TWINT" and detail["amount"] == "550"


def test_go_creates_the_checkout_transaction_once(testapp, checkout_config, db, app):
    store = app.registry.checkout_sandbox_store
    before = {t.id for t in store.recent(10**6)}
    answer = testapp.post("/paiements/start/", start_params(checkout_config))
    first = testapp.get(path_of(answer.json["url"]))
    again = testapp.get(path_of(answer.json["url"]))  # a reload, or a second tab
    assert first.location == again.location and first.headers["Cache-Control"] == "no-store"
    transaction, logs = story(db)
    assert first.location.endswith(f"/sandbox/checkout/pay/{transaction.postfinance_id}")
    assert logs.count("postfinanceId") == 1 and logs.count("userForwarded") == 2
    [created] = [t for t in store.recent(10**6) if t.id not in before]
    assert str(created.id) == transaction.postfinance_id and created.amount * 100 == 550
    assert created.merchant_reference == f"polybanking-{transaction.id}" and created.currency == "CHF"


def test_a_lost_webhook_is_repaired_by_the_shoppers_return(testapp, checkout_config, receiver, db):
    back, _go, _id = pay_with_checkout(testapp, checkout_config, "fulfill", lose=True)
    assert back.location == OK
    [ipn] = receiver.wait_for(1)
    assert ipn["postfinance_status"] == "9"  # straight from ?? to what Checkout says now
    transaction, logs = story(db)
    assert "checkoutWebhook" not in logs and transaction.postfinance_status == "9"


def test_leaving_checkouts_page_unpaid_sends_the_shopper_to_the_error_page(
    testapp, checkout_config, receiver, db
):
    answer = testapp.post("/paiements/start/", start_params(checkout_config))
    token = path_of(answer.json["url"]).rsplit("/", 1)[1]
    testapp.get(path_of(answer.json["url"]))
    back = testapp.get(f"/paiements/checkout/return/{token}")
    assert back.status_int == 303 and back.location == ERR
    transaction, logs = story(db)
    assert transaction.postfinance_status is None and "userBackFromPostfinance" in logs
    assert receiver.received == []


def test_an_unknown_return_is_404(testapp):
    assert testapp.get("/paiements/checkout/return/nothing-here", expect_errors=True).status_int == 404


@pytest.fixture
def refused_by_checkout(base_settings, live_server, app):
    """A gateway whose Checkout key is wrong: Checkout (the suite's sandbox) refuses its calls."""
    import base64

    import webtest

    from polybanking import main

    from ..conftest import app_settings_for

    wrong = base64.b64encode(b"a key Checkout never issued to this user").decode()
    gateway = main(
        {}, **app_settings_for(base_settings, live_server.url, **{"checkout.test.authentication_key": wrong})
    )
    host = live_server.url.split("://", 1)[1]
    yield webtest.TestApp(gateway, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": host})
    gateway.registry["dbengine"].dispose()


def test_a_checkout_error_gives_the_shopper_a_try_again_page(
    refused_by_checkout, checkout_config, db, caplog
):
    answer = refused_by_checkout.post("/paiements/start/", start_params(checkout_config))
    page = refused_by_checkout.get(path_of(answer.json["url"]), expect_errors=True)
    assert page.status_int == 503 and "try again" in page.text and page.headers["Cache-Control"] == "no-store"
    transaction, logs = story(db)
    assert transaction.postfinance_id is None and transaction.internal_status == "cr"
    assert logs == ["created", "platformError"]
    error = db.run(
        lambda s: s.scalar(
            select(TransactionLog.extra_data).where(TransactionLog.log_type == "platformError")
        )
    )
    assert "HTTP 401" in error and "UNAUTHORIZED" in error  # Checkout's own words
    assert any("HTTP 401" in record.getMessage() for record in caplog.records)
    token = path_of(answer.json["url"]).rsplit("/", 1)[1]
    db.run(lambda s: setattr(s.scalar(select(Transaction)), "postfinance_id", "100000"))
    back = refused_by_checkout.get(f"/paiements/checkout/return/{token}", expect_errors=True)
    assert back.status_int == 503 and "reload" in back.text


def test_two_tabs_at_once_end_on_the_same_checkout_payment(testapp, checkout_config, live_server, db):
    """Both tabs call Checkout while neither holds a lock; the second to record finds the first's
    id and starts again, so both shoppers' tabs show the one payment that is recorded."""
    import threading

    import requests

    answer = testapp.post("/paiements/start/", start_params(checkout_config))
    go = f"{live_server.url}{path_of(answer.json['url'])}"
    barrier, finals = threading.Barrier(2), []

    def tab():
        barrier.wait()
        url = go
        for _ in range(3):  # go, perhaps go again after a race, then Checkout's page
            reply = requests.get(url, allow_redirects=False, timeout=30)
            if reply.status_code != 303:
                break
            url = reply.headers["Location"]
        finals.append(url)

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    transaction, logs = story(db)
    assert finals == [finals[0]] * 2 and finals[0].endswith(
        f"/sandbox/checkout/pay/{transaction.postfinance_id}"
    )
    assert logs.count("postfinanceId") == 1

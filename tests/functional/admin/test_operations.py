"""Refunds, captures and cancellations from the transaction page: who may, the confirmation with
the amount in CHF, the operation asked of the sandbox, and what the page shows afterwards."""

import re

from sqlalchemy import select

from polybanking.models import Config, Operation, Transaction, User

from ...website import hidden_fields, path_of, start_params
from .conftest import csrf_token


def paid(browser, config, reference="shirt-1", amount="2500", outcome="pay"):
    shopper = browser()
    answer = shopper.post("/paiements/start/", start_params(config, amount, reference))
    form = hidden_fields(shopper.get(path_of(answer.json["url"])).text)
    shopper.post("/sandbox/ncol/test/decide", dict(form, outcome=outcome))
    return int(form["ORDERID"].rsplit("-", 1)[1])


def form_fields(page, form_id):
    return dict(page.forms[form_id].submit_fields())


def grant_operator(db, config_id, username):
    def run(session):
        user = session.scalar(select(User).where(User.username == username))
        config = session.get(Config, config_id)
        config.operators.append(user)

    db.run(run)


def test_a_superuser_refunds_part_after_confirming_the_amount(
    admin_as, browser, make_config, db, platform, receiver
):
    config = make_config(platform=platform.name)
    tid = platform.pay(config, reference="shirt-1", amount="2500")
    root = admin_as("root", superuser=True)
    page = root.get(f"/admin/transactions/{tid}/")
    assert re.search(r"May still be refunded</dt><dd>CHF 25.00", page.text)
    fields = dict(form_fields(page, "refund-form"), amount="7.50", reason="T-shirt out of stock")
    confirm = root.post(f"/admin/transactions/{tid}/operations", fields)
    assert "Refund CHF 7.50?" in confirm.text and "T-shirt out of stock" in confirm.text
    assert db.run(lambda s: s.scalar(select(Operation.id))) is None  # nothing before the confirmation
    done = root.post(f"/admin/transactions/{tid}/operations", form_fields(confirm, 1)).follow()
    assert "Refund of CHF 7.50 asked" in done.text
    assert re.search(r"Refunded</dt><dd>CHF 7.50", done.text)
    assert re.search(r"May still be refunded</dt><dd>CHF 17.50", done.text)
    assert "refund #" in done.text and "user:root" in done.text and ">done<" in done.text
    again = root.post(
        f"/admin/transactions/{tid}/operations", form_fields(confirm, 1)
    ).follow()  # double click
    assert "was asked already" in again.text
    assert db.run(lambda s: s.get(Transaction, tid).refunded_amount) == 750
    assert platform.refunds_held(tid) == [(750, "done")]


def test_seeing_a_config_does_not_let_one_refund_until_granted(admin_as, browser, make_config, db, ledger):
    config = make_config()
    tid = paid(browser, config)
    alice = admin_as("alice", configs=[config.id])
    page = alice.get(f"/admin/transactions/{tid}/")
    assert "refund-form" not in page.text and "May still be refunded" in page.text
    form = {"kind": "refund", "key": "k", "amount": "1.00", "confirm": "yes", "csrf_token": csrf_token(page)}
    assert alice.post(f"/admin/transactions/{tid}/operations", form, expect_errors=True).status_int == 403

    grant_operator(db, config.id, "alice")
    page = alice.get(f"/admin/transactions/{tid}/")
    confirm = alice.post(f"/admin/transactions/{tid}/operations", form_fields(page, "refund-form"))
    assert "Refund CHF 25.00?" in confirm.text  # empty amount: all that is left
    alice.post(f"/admin/transactions/{tid}/operations", form_fields(confirm, 1))
    assert db.run(lambda s: s.get(Transaction, tid).postfinance_status) == "8"


def test_superusers_grant_the_right_on_the_users_page(admin_as, make_user, make_config, db):
    config = make_config()
    bob = make_user("bob")
    root = admin_as("root", superuser=True)
    page = root.get(f"/admin/configs/{config.id}/users")
    root.post(f"/admin/configs/{config.id}/users", {"operator": str(bob), "csrf_token": csrf_token(page)})
    assert [u.username for u in db.run(lambda s: list(s.get(Config, config.id).operators))] == ["bob"]


def test_too_much_is_refused_with_a_message(admin_as, browser, make_config, db, ledger):
    config = make_config()
    tid = paid(browser, config)
    root = admin_as("root", superuser=True)
    page = root.get(f"/admin/transactions/{tid}/")
    answer = root.post(
        f"/admin/transactions/{tid}/operations", dict(form_fields(page, "refund-form"), amount="25.01")
    )
    assert "more than is left to refund" in answer.follow().text


def test_capture_an_authorised_payment(admin_as, browser, make_config, db, ledger):
    config = make_config()
    tid = paid(browser, config, outcome="authorise")
    root = admin_as("root", superuser=True)
    page = root.get(f"/admin/transactions/{tid}/")
    assert "refund-form" not in page.text and "cancel-form" in page.text
    confirm = root.post(f"/admin/transactions/{tid}/operations", form_fields(page, "capture-form"))
    assert "Capture CHF 25.00?" in confirm.text
    after = root.post(f"/admin/transactions/{tid}/operations", form_fields(confirm, 1)).follow()
    assert re.search(r"Captured</dt><dd>CHF 25.00", after.text)
    assert db.run(lambda s: s.get(Transaction, tid).postfinance_status) == "9"


def test_the_list_filters_refunded_transactions(admin_as, browser, make_config, db, ledger):
    config = make_config()
    kept = paid(browser, config, reference="kept")
    refunded = paid(browser, config, reference="given-back")

    def refund_some(session):
        transaction = session.get(Transaction, refunded)
        transaction.refund_reserved = transaction.refunded_amount = 100

    db.run(refund_some)
    root = admin_as("root", superuser=True)
    page = root.get("/admin/transactions/?status=refunded")
    assert f"/admin/transactions/{refunded}/" in page.text and f"/admin/transactions/{kept}/" not in page.text

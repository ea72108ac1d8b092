"""Refunds, captures and cancellations end to end (PROTOCOL §10, §11): a website's API call or the
service, the task asking the platform's sandbox over real HTTP (e-payment's ``maintenancedirect.asp``
with SHA-IN; Checkout's API through the SDK, with its JWT), the answer applied through
``apply_report``, later post-sales or webhooks settling what was pending, the IPN.

The tests that hold for both platforms take the ``platform`` fixture (tests/conftest.py,
tests/platforms.py): how to pay on it, what its payment already told the website, its back
office's later word, and what it holds."""

from types import SimpleNamespace
from urllib.parse import quote

import pytest
from sqlalchemy import select

from polybanking.models import Operation, Transaction, TransactionLog
from polybanking.platforms import OperationOrder
from polybanking.services.operations.request import request_operation
from polybanking.services.payments.platforms import platform_for

from ..platforms import Checkout
from ..website import hidden_fields, path_of, start_params


def paid(testapp, config, reference="order-1", amount="1000", outcome="pay"):
    """A payment made on the sandbox's page; its transaction id and PAYID."""
    answer = testapp.post("/paiements/start/", start_params(config, amount, reference))
    form = hidden_fields(testapp.get(path_of(answer.json["url"])).text)
    testapp.post("/sandbox/ncol/test/decide", dict(form, outcome=outcome))
    return int(form["ORDERID"].rsplit("-", 1)[1])


def refund(testapp, config, reference="order-1", status=None, **fields):
    form = {"config_id": str(config.id), "secret": config.key_api, **fields}
    url = f"/api/transactions/{quote(reference, safe='')}/refunds/"
    return testapp.post(url, form, status=status or "*")


def state(db, transaction_id):
    def run(session):
        t = session.get(Transaction, transaction_id)
        operations = session.scalars(
            select(Operation).where(Operation.transaction_id == t.id).order_by(Operation.id)
        )
        logs = session.scalars(
            select(TransactionLog.log_type)
            .where(TransactionLog.transaction_id == t.id)
            .order_by(TransactionLog.id)
        )
        return SimpleNamespace(
            status=t.postfinance_status,
            sub=t.postfinance_id_sub,
            payid=t.postfinance_id,
            refunded=t.refunded_amount,
            reserved=t.refund_reserved,
            operations=[(o.kind, o.amount, o.state, o.platform_status) for o in operations],
            logs=list(logs),
        )

    return db.run(run)


def test_partial_refunds_then_the_rest_make_it_refunded_and_the_website_is_told(
    testapp, make_config, db, receiver, platform
):
    config = make_config(platform=platform.name, api_refunds=True)
    tid = platform.pay(config)
    told = platform.ipns["pay"]
    assert [i["postfinance_status"] for i in receiver.wait_for(len(told))] == told

    first = refund(testapp, config, idempotency_key="r-1", amount="300", reason="size out of stock")
    assert first.status_int == 201
    assert first.json == {
        "result": "ok",
        "data": {
            "id": first.json["data"]["id"],
            "amount": "300",
            "state": "pending",
            "idempotency_key": "r-1",
        },
    }
    after = state(db, tid)
    assert after.operations == [("refund", 300, "done", "8")]
    assert (after.status, after.refunded, after.reserved) == ("9", 300, 300)  # partly refunded: still paid
    assert {"operationRequested", "operationSent", "operationDone"} <= set(after.logs)
    detail = testapp.post(
        "/api/transactions/order-1/", {"config_id": str(config.id), "secret": config.key_api}
    )
    assert (detail.json["data"]["refunded_amount"], detail.json["data"]["postfinance_status"]) == ("300", "9")

    again = refund(testapp, config, idempotency_key="r-1", amount="300")
    assert again.status_int == 200 and again.json["data"] == dict(first.json["data"], state="done")
    assert refund(testapp, config, idempotency_key="r-1", amount="200").status_int == 409

    too_much = refund(testapp, config, idempotency_key="r-2", amount="701")
    assert too_much.status_int == 409 and "more than is left" in too_much.json["error"]
    rest = refund(testapp, config, idempotency_key="r-3")
    assert rest.status_int == 201 and rest.json["data"]["amount"] == "700"
    final = state(db, tid)
    assert (final.status, final.refunded, final.reserved) == ("8", 1000, 1000)
    ipns = receiver.wait_for(len(told) + 1)
    assert [(i["postfinance_status"], i["postfinance_status_good"]) for i in ipns[-2:]] == [
        ("9", "True"),
        ("8", "False"),
    ]
    assert receiver.wait_idle() and len(receiver.received) == len(told) + 1  # one IPN for the change
    nothing_left = refund(testapp, config, idempotency_key="r-4", amount="1")
    assert nothing_left.status_int == 409
    assert platform.refunds_held(tid) == [(300, "done"), (700, "done")]


def test_a_json_ipn_tells_each_refund_with_the_refunded_amount(testapp, make_config, db, receiver, platform):
    """A config whose IPN body is JSON is told of a partial refund too (the status stays 9, what
    is refunded changes), each message with its own webhook-id; the full refund makes it 8."""
    config = make_config(platform=platform.name, api_refunds=True, ipn_format="json")
    tid = platform.pay(config)
    told = len(platform.ipns["pay"])
    receiver.wait_for(told)
    assert refund(testapp, config, idempotency_key="r-1", amount="300").status_int == 201
    assert refund(testapp, config, idempotency_key="r-2").status_int == 201
    ipns = receiver.wait_for(told + 2)
    assert [(i["postfinance_status"], i["refunded_amount"], i["amount"]) for i in ipns[told:]] == [
        ("9", "300", "1000"),
        ("8", "1000", "1000"),
    ]
    assert receiver.wait_idle() and len(receiver.received) == told + 2
    ids = [headers["webhook-id"] for headers in receiver.headers]
    assert len(set(ids)) == len(ids)
    assert "refundTold" in state(db, tid).logs


def test_a_pending_refund_is_settled_by_the_later_post_sale_or_webhook(
    testapp, make_config, db, receiver, platform
):
    config = make_config(platform=platform.name, api_refunds=True)
    tid = platform.pay(config, amount="2081")
    answer = refund(testapp, config, idempotency_key="all")  # 20.81: the sandbox keeps it pending
    assert answer.status_int == 201
    pending = state(db, tid)
    assert pending.operations == [("refund", 2081, "pending", "81")]
    assert (pending.status, pending.refunded, pending.reserved) == ("9", 0, 2081)
    assert "operationPending" in pending.logs
    assert refund(testapp, config, idempotency_key="more", amount="1").status_int == 409  # reserved

    platform.later(tid, "refund-done")  # e-payment: PAYIDSUB 2, status 8, by post-sale
    done = state(db, tid)
    assert done.operations == [("refund", 2081, "done", "8")]
    assert (done.status, done.refunded) == ("8", 2081)
    told = platform.ipns["pay"]
    assert [i["postfinance_status"] for i in receiver.wait_for(len(told) + 1)] == [*told, "8"]
    assert refund(testapp, config, idempotency_key="all").json["data"]["state"] == "done"


def test_a_refused_refund_gives_its_amount_back_and_changes_nothing_websites_see(
    testapp, make_config, db, receiver, platform
):
    config = make_config(platform=platform.name, api_refunds=True)
    tid = platform.pay(config, amount="5000")
    assert refund(testapp, config, idempotency_key="x", amount="1083").status_int == 201  # acquirer refuses
    refused = state(db, tid)
    assert refused.operations == [("refund", 1083, "refused", "83")]
    assert (refused.status, refused.refunded, refused.reserved) == ("9", 0, 0)
    assert "operationRefused" in refused.logs
    assert refund(testapp, config, idempotency_key="x").json["data"]["state"] == "refused"
    assert refund(testapp, config, idempotency_key="y", amount="5000").status_int == 201
    assert state(db, tid).status == "8"
    assert platform.refunds_held(tid) == [(1083, "refused"), (5000, "done")]


def test_a_pending_refund_refused_later(testapp, make_config, db, platform):
    config = make_config(platform=platform.name, api_refunds=True)
    tid = platform.pay(config, amount="1000")
    refund(testapp, config, idempotency_key="a", amount="181")
    platform.later(tid, "refund-refused")
    after = state(db, tid)
    assert after.operations == [("refund", 181, "refused", "83")]
    assert (after.status, after.reserved, after.refunded) == ("9", 0, 0)


def test_the_api_refuses_what_it_must(testapp, make_config, db, ledger):
    closed = make_config()
    paid(testapp, closed, reference="p")
    answer = refund(testapp, closed, reference="p", idempotency_key="k")
    assert answer.status_int == 403 and "not allowed" in answer.json["error"]
    assert refund(testapp, closed, reference="nope", idempotency_key="k").status_int == 403  # 403 before 404

    config = make_config(api_refunds=True)
    assert refund(testapp, config, reference="nope", idempotency_key="k").status_int == 404
    wrong = dict(config.__dict__, key_api="wrong")
    assert refund(testapp, SimpleNamespace(**wrong), idempotency_key="k").status_int == 403
    testapp.post("/paiements/start/", start_params(config, "500", "unpaid"))
    not_paid = refund(testapp, config, reference="unpaid", idempotency_key="k")
    assert not_paid.status_int == 409 and "not paid" in not_paid.json["error"]
    paid(testapp, config, reference="paid")
    for bad in ("0", "-1", "1.5", "abc"):
        assert refund(testapp, config, reference="paid", idempotency_key="k", amount=bad).status_int == 400
    assert refund(testapp, config, reference="paid").status_int == 400  # no key
    assert refund(testapp, config, reference="paid", idempotency_key="k" * 65).status_int == 400
    assert db.run(lambda s: s.scalar(select(Operation.id))) is None


def test_a_checkout_refund_is_asked_through_the_sdk_with_our_reference_as_its_external_id(
    testapp, app, make_config, db, receiver
):
    """Checkout holds the refund under our operation's reference, so asking again (a retried
    task, a lost answer) names the same refund and never refunds twice."""
    config = make_config(platform="checkout", api_refunds=True)
    checkout = Checkout(testapp, app, db)
    tid = checkout.pay(config, amount="1000")
    answer = refund(testapp, config, idempotency_key="k1", amount="500", reason="one ticket less")
    assert answer.status_int == 201 and answer.json["data"]["amount"] == "500"
    operation = db.run(lambda s: s.scalar(select(Operation)))
    (held,) = checkout.held(tid).refunds
    assert (held["externalId"], held["state"], held["id"]) == (
        operation.reference,
        "SUCCESSFUL",
        int(operation.platform_id),
    )
    after = state(db, tid)
    assert (after.status, after.refunded, after.reserved) == ("9", 500, 500)
    assert after.operations == [("refund", 500, "done", "8")]
    assert {"operationRequested", "operationSent", "operationDone"} <= set(after.logs)

    platform = platform_for(app.registry.pb_settings, config)  # asked again, as after a lost answer
    order = OperationOrder("refund", "x", after.payid, 500, final=False, reference=operation.reference)
    assert platform.operate(order).platform_id == operation.platform_id
    assert len(checkout.held(tid).refunds) == 1


def test_a_checkout_error_leaves_the_refund_pending_and_reserved_never_assumed(testapp, make_config, db):
    """Checkout answering an HTTP error (here: a transaction it does not know) says nothing of
    what happened there: the refund stays pending, its amount reserved, the error in the story."""
    config = make_config(platform="checkout", api_refunds=True)

    def add(session):
        transaction = Transaction(
            config_id=config.id, reference="order-1", amount=1000, postfinance_status="9", postfinance_id="77"
        )
        session.add(transaction)
        session.flush()
        return transaction.id

    transaction_id = db.run(add)
    answer = refund(testapp, config, idempotency_key="k1", amount="500")
    assert answer.status_int == 201 and answer.json["data"]["state"] == "pending"
    after = state(db, transaction_id)
    assert (after.status, after.reserved, after.refunded) == ("9", 500, 0)
    assert after.operations == [("refund", 500, "pending", "")]
    assert after.logs[-1] == "operationError"
    error = db.run(lambda s: s.scalar(select(TransactionLog.extra_data).order_by(TransactionLog.id.desc())))
    assert "HTTP 404" in error


def test_a_checkout_refund_whose_answer_was_lost_is_found_by_its_reference_by_the_janitor(
    testapp, app, make_config, db, receiver, settings
):
    """Checkout made the refund but its answer never came back (nor its webhook): the status
    janitor finds it by our reference (its externalId) and settles it."""
    from datetime import timedelta

    from polybanking.models.meta import utcnow
    from polybanking.services.operations import run

    config = make_config(platform="checkout")
    checkout = Checkout(testapp, app, db)
    tid = checkout.pay(config, amount="1500")
    operation_id = db.run(
        lambda s: (
            request_operation(
                s, s.get(Transaction, tid), "refund", None, idempotency_key="k", requested_by="cli"
            ).operation.id
        )
    )
    claimed = db.run(lambda s: run.claim(s, operation_id, settings.orderid_prefix))
    webhook_url = app.registry.checkout_sandbox_webhook_url
    app.registry.checkout_sandbox_webhook_url = "http://127.0.0.1:9/lost"  # its webhook is lost
    try:
        answer = platform_for(settings, config).operate(claimed.order)
    finally:
        app.registry.checkout_sandbox_webhook_url = webhook_url
    assert answer.outcome == "accepted"  # and then lost on its way back: the task never sees it
    db.run(lambda s: run.record_answer(s, operation_id, None, settings.orderid_prefix, "timed out"))
    assert state(db, tid).operations == [("refund", 1500, "pending", "")]
    assert [(r["state"], r["externalId"]) for r in checkout.held(tid).refunds] == [
        ("SUCCESSFUL", f"{tid}-{operation_id}")
    ]

    def age(session):
        session.get(Operation, operation_id).updated_at = utcnow() - timedelta(minutes=31)

    db.run(age)
    assert app.registry.tasks.directlink_sweep.call_local() == [tid]
    after = state(db, tid)
    assert after.operations == [("refund", 1500, "done", "8")]
    assert (after.status, after.refunded) == ("8", 1500)
    assert receiver.wait_for(5)[-1]["postfinance_status"] == "8"


def test_a_reference_ending_in_refunds_is_still_reachable(testapp, make_config, ledger):
    config = make_config(api_refunds=True)
    testapp.post("/paiements/start/", start_params(config, "500", "x/refunds"))
    detail = testapp.post(
        "/api/transactions/x/refunds/",
        {"config_id": str(config.id), "secret": config.key_api, "reference": "x/refunds"},
    )
    assert detail.json["data"]["reference"] == "x/refunds"


def operate(db, app, tid, kind, key="k"):
    def run(session):
        t = session.get(Transaction, tid)
        return request_operation(session, t, kind, None, idempotency_key=key, requested_by="cli").operation.id

    operation_id = db.run(run)
    return app.registry.tasks.run_operation.call_local(operation_id)


@pytest.mark.parametrize(("kind", "status"), [("capture", "9"), ("cancel", "6")])
def test_capture_or_cancel_an_authorised_payment(
    testapp, app, make_config, db, receiver, platform, kind, status
):
    config = make_config(platform=platform.name)
    tid = platform.pay(config, outcome="authorise")
    assert state(db, tid).status == "5"
    told = platform.ipns["authorise"]
    assert [i["postfinance_status"] for i in receiver.wait_for(len(told))] == told
    operate(db, app, tid, kind)
    after = state(db, tid)
    assert after.operations == [(kind, 1000, "done", status)] and after.status == status
    assert receiver.wait_idle() and receiver.received[-1]["postfinance_status"] == status
    assert platform.status_held(tid) == status


def test_a_pending_cancellation_shows_the_platforms_status_until_done(
    testapp, app, make_config, db, platform
):
    config = make_config(platform=platform.name)
    tid = platform.pay(config, amount="381", outcome="authorise")
    operate(db, app, tid, "cancel")
    assert state(db, tid).operations == [("cancel", 381, "pending", "61")]
    assert state(db, tid).status == "61"
    platform.later(tid, "cancel-done")
    assert (state(db, tid).status, state(db, tid).operations[0][2]) == ("6", "done")


def test_a_pending_checkout_capture_is_done_once_checkout_says_fulfill(
    testapp, app, make_config, db, receiver
):
    """Checkout completes the payment later: 91 until then, as while its checks run, then 9."""
    config = make_config(platform="checkout")
    checkout = Checkout(testapp, app, db)
    tid = checkout.pay(config, amount="1281", outcome="authorise")
    operate(db, app, tid, "capture")
    assert state(db, tid).operations == [("capture", 1281, "pending", "91")]
    assert state(db, tid).status == "91"
    office = "/sandbox/checkout/transactions"
    for operation in ("complete", "fulfill"):  # each with its webhook
        testapp.post(office, {"id": state(db, tid).payid, "operation": operation})
    after = state(db, tid)
    assert (after.status, after.operations) == ("9", [("capture", 1281, "done", "9")])
    assert [i["postfinance_status"] for i in receiver.wait_for(4)] == ["51", "5", "91", "9"]
    assert receiver.wait_idle() and len(receiver.received) == 4


def test_a_task_run_twice_asks_the_platform_once(testapp, app, make_config, db, platform):
    config = make_config(platform=platform.name, api_refunds=True)
    tid = platform.pay(config)
    refund(testapp, config, idempotency_key="k", amount="100")
    operation_id = db.run(lambda s: s.scalar(select(Operation.id)))
    assert app.registry.tasks.run_operation.call_local(operation_id) is False
    assert platform.refunds_held(tid) == [(100, "done")] and state(db, tid).refunded == 100


def test_a_pending_refund_whose_post_sale_or_webhook_was_lost_is_settled_by_the_status_janitor(
    testapp, app, make_config, db, receiver, platform
):
    from datetime import timedelta

    from polybanking.models.meta import utcnow

    config = make_config(platform=platform.name, api_refunds=True)
    tid = platform.pay(config, amount="581")
    refund(testapp, config, idempotency_key="all")
    platform.later(tid, "refund-done", told=False)  # no post-sale, no webhook
    assert state(db, tid).operations == [("refund", 581, "pending", "81")]
    tasks = app.registry.tasks
    assert tasks.directlink_sweep.call_local() == []  # sent just now: not yet

    def age(session):
        session.scalar(select(Operation)).updated_at = utcnow() - timedelta(minutes=31)

    db.run(age)
    assert tasks.directlink_sweep.call_local() == [tid]
    after = state(db, tid)
    assert after.operations == [("refund", 581, "done", "8")]
    assert (after.status, after.refunded) == ("8", 581)
    told = platform.ipns["pay"]
    assert [i["postfinance_status"] for i in receiver.wait_for(len(told) + 1)] == [*told, "8"]
    assert tasks.directlink_sweep.call_local() == []


def test_the_sandbox_report_after_refunds_reconciles(testapp, make_config, db, settings, ledger):
    import io

    from polybanking.services.reconcile.runs import reconcile_file

    config = make_config(api_refunds=True)
    part, whole = paid(testapp, config, reference="part"), paid(testapp, config, reference="whole")
    refund(testapp, config, reference="part", idempotency_key="a", amount="300")
    refund(testapp, config, reference="whole", idempotency_key="b", amount="400")
    refund(testapp, config, reference="whole", idempotency_key="c")
    assert (state(db, part).status, state(db, whole).status) == ("9", "8")
    report = testapp.get("/sandbox/ncol/test/report.csv").body

    def compare(session):
        outcome = reconcile_file(
            session, settings, io.BytesIO(report), "sandbox.csv", live=False, actor="t", source="upload"
        )
        return outcome.run.same_count, outcome.run.different_count, outcome.run.report_lines

    assert db.run(compare) == (2, 0, 5)

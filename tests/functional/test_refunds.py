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


@pytest.mark.parametrize("made", [True, False], ids=["made-answer-lost", "never-made"])
def test_a_refund_without_an_answer_is_settled_by_the_janitor_as_the_platform_shows_it(
    testapp, app, make_config, db, receiver, settings, platform, made
):
    """The refund's call gave no answer: the platform made it and the answer was lost (with
    Checkout's webhook), or the call never reached it. The status janitor asks: found (Checkout:
    by our reference, its externalId; e-payment: a new PAYIDSUB of the payment), it is settled;
    no trace of it once ``reconcile.stale_after`` old, it is refused and its amount given back,
    which websites are not told (the status is the same)."""
    from dataclasses import replace
    from datetime import timedelta

    from polybanking.models.meta import utcnow
    from polybanking.platforms import PlatformUnavailable
    from polybanking.services.operations import run

    config = make_config(platform=platform.name)
    tid = platform.pay(config, amount="1500")
    told = receiver.wait_for(len(platform.ipns["pay"]))
    operation_id = db.run(
        lambda s: (
            request_operation(
                s, s.get(Transaction, tid), "refund", None, idempotency_key="k", requested_by="cli"
            ).operation.id
        )
    )
    claimed = db.run(lambda s: run.claim(s, operation_id, settings.orderid_prefix))
    operating = platform_for(settings, config)
    if made:
        webhook_url = app.registry.checkout_sandbox_webhook_url
        app.registry.checkout_sandbox_webhook_url = "http://127.0.0.1:9/lost"  # its webhook is lost
        try:
            answer = operating.operate(claimed.order)
        finally:
            app.registry.checkout_sandbox_webhook_url = webhook_url
        assert answer.outcome == "accepted"  # and then lost on its way back: the task never sees it
    else:
        with pytest.raises(PlatformUnavailable):  # the call fails before reaching the platform
            replace(operating, **platform.unreachable, timeout=2).operate(claimed.order)
    db.run(lambda s: run.record_answer(s, operation_id, None, settings.orderid_prefix, "timed out"))
    assert state(db, tid).operations == [("refund", 1500, "pending", "")]
    assert platform.refunds_held(tid) == ([(1500, "done")] if made else [])

    tasks = app.registry.tasks
    tasks.directlink_check.call_local(tid)  # asked before it is stale_after old
    young = state(db, tid)
    assert young.operations == [("refund", 1500, "done", "8") if made else ("refund", 1500, "pending", "")]
    if not made:  # it may still be on its way: kept pending, its amount reserved

        def age(session):
            session.get(Operation, operation_id).updated_at = utcnow() - timedelta(minutes=31)

        db.run(age)
        assert tasks.directlink_sweep.call_local() == [tid]
    after = state(db, tid)
    if made:
        assert after.operations == [("refund", 1500, "done", "8")]
        assert (after.status, after.refunded, after.reserved) == ("8", 1500, 1500)
        assert receiver.wait_for(len(told) + 1)[-1]["postfinance_status"] == "8"
    else:
        assert after.operations == [("refund", 1500, "refused", "")]
        assert (after.status, after.refunded, after.reserved) == ("9", 0, 0)
        refused = db.run(
            lambda s: s.scalar(
                select(TransactionLog.extra_data).where(TransactionLog.log_type == "operationRefused")
            )
        )
        assert platform.no_trace in refused
        assert receiver.wait_idle() and len(receiver.received) == len(told)  # no IPN: no change
    assert tasks.directlink_sweep.call_local() == []  # settled: no more questions


@pytest.mark.parametrize("made", [True, False], ids=["made-answer-lost", "never-made"])
@pytest.mark.parametrize("kind", ["capture", "cancel"])
def test_a_capture_or_cancel_without_an_answer_is_settled_by_the_janitor_as_the_platform_shows_it(
    testapp, app, make_config, db, receiver, settings, platform, kind, made
):
    """The call gave no answer. Made (its answer and Checkout's webhook lost): the janitor finds
    it (Checkout: the transaction's completion or void, by search; e-payment: a new PAYIDSUB)
    and settles it. Never made (nothing listens): pending while it may still be on its way, then
    refused, the payment still authorised, and a second one goes through."""
    from dataclasses import replace
    from datetime import timedelta

    from polybanking.models.meta import utcnow
    from polybanking.platforms import PlatformUnavailable
    from polybanking.services.operations import run

    config = make_config(platform=platform.name)
    tid = platform.pay(config, amount="1500", outcome="authorise")
    told = receiver.wait_for(len(platform.ipns["authorise"]))
    operation_id = db.run(
        lambda s: (
            request_operation(
                s, s.get(Transaction, tid), kind, None, idempotency_key="first", requested_by="cli"
            ).operation.id
        )
    )
    claimed = db.run(lambda s: run.claim(s, operation_id, settings.orderid_prefix))
    operating = platform_for(settings, config)
    done = {"capture": "9", "cancel": "6"}[kind]
    if made:
        webhook_url = app.registry.checkout_sandbox_webhook_url
        app.registry.checkout_sandbox_webhook_url = "http://127.0.0.1:9/lost"  # its webhooks are lost
        try:
            assert operating.operate(claimed.order).outcome == "accepted"  # lost on its way back
        finally:
            app.registry.checkout_sandbox_webhook_url = webhook_url
    else:
        with pytest.raises(PlatformUnavailable):  # the call fails before reaching the platform
            replace(operating, **platform.unreachable, timeout=2).operate(claimed.order)
    db.run(lambda s: run.record_answer(s, operation_id, None, settings.orderid_prefix, "timed out"))
    tasks = app.registry.tasks
    tasks.directlink_check.call_local(tid)  # asked before it is stale_after old
    if made:
        after = state(db, tid)
        assert (after.status, after.operations) == (done, [(kind, 1500, "done", done)])
        assert receiver.wait_for(len(told) + 1)[-1]["postfinance_status"] == done
        return
    assert state(db, tid).operations == [(kind, 1500, "pending", "")]  # it may still be on its way

    def age(session):
        session.get(Operation, operation_id).updated_at = utcnow() - timedelta(minutes=31)

    db.run(age)
    assert tasks.directlink_sweep.call_local() == [tid]
    after = state(db, tid)
    assert (after.status, after.operations) == ("5", [(kind, 1500, "refused", "")])
    refused = db.run(
        lambda s: s.scalar(
            select(TransactionLog.extra_data).where(TransactionLog.log_type == "operationRefused")
        )
    )
    assert platform.no_operation in refused
    assert receiver.wait_idle() and len(receiver.received) == len(told)  # no change, no IPN

    operate(db, app, tid, kind, key="second")  # asked again, through the sandbox this time
    assert state(db, tid).operations[-1] == (kind, 1500, "done", done)
    assert state(db, tid).status == done


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


@pytest.mark.parametrize(("ends", "status"), [("done", "6"), ("refused", "5")])
def test_a_pending_cancellation_shows_the_platforms_status_until_it_ends(
    testapp, app, make_config, db, receiver, platform, ends, status
):
    """Done, the payment is cancelled (6); refused, it is authorised as before (5), not left
    "deletion waiting" (61). Either way the website is told."""
    config = make_config(platform=platform.name)
    tid = platform.pay(config, amount="381", outcome="authorise")
    operate(db, app, tid, "cancel")
    assert state(db, tid).operations == [("cancel", 381, "pending", "61")]
    assert state(db, tid).status == "61"
    platform.later(tid, f"cancel-{ends}")
    app.registry.tasks.directlink_check.call_local(tid)  # a failed void sends no webhook: asked
    assert (state(db, tid).status, state(db, tid).operations[0][2]) == (status, ends)
    told = [*platform.ipns["authorise"], "61", status]
    assert [i["postfinance_status"] for i in receiver.wait_for(len(told))] == told
    assert receiver.wait_idle() and len(receiver.received) == len(told)


@pytest.mark.parametrize(
    ("kind", "amount", "office", "settled", "status"),
    [
        # the completion stays pending, then Checkout completes the payment and fulfils it
        ("capture", "1281", ["complete", "fulfill"], "done", "9"),
        # … or completes it and its risk checks decline it
        ("capture", "1281", ["complete", "decline"], "refused", "93"),
        # … or the completion fails: the payment stays AUTHORIZED, and may be captured again
        ("capture", "1281", ["complete-failed"], "refused", "5"),
        # the completion succeeds but leaves the payment COMPLETED (risk checks), then DECLINE
        ("capture", "1291", ["decline"], "refused", "93"),
        # the void stays pending, then fails: the payment stays AUTHORIZED
        ("cancel", "1281", ["void-failed"], "refused", "5"),
    ],
    ids=["fulfilled", "completed-declined", "completion-failed", "risk-checks-declined", "void-failed"],
)
@pytest.mark.parametrize("told", [True, False], ids=["webhook", "janitor"])
def test_a_pending_checkout_capture_or_cancel_is_settled_as_checkout_ends_it(
    testapp, app, make_config, db, receiver, kind, amount, office, settled, status, told
):
    """Checkout finishes a capture or cancellation later: 91 (61) until then, then what websites
    see follows the transaction (PROTOCOL §11) and the operation is done or refused, whether the
    Transaction webhook is sent (a failed completion or void changes no state: the webhook is
    sent again, as a later event of the transaction would) or lost (the status janitor asks)."""
    from datetime import timedelta

    from polybanking.models.meta import utcnow

    config = make_config(platform="checkout")
    checkout = Checkout(testapp, app, db)
    tid = checkout.pay(config, amount=amount, outcome="authorise")
    operate(db, app, tid, kind)
    pending = {"capture": "91", "cancel": "61"}[kind]
    assert state(db, tid).operations == [(kind, int(amount), "pending", pending)]
    assert state(db, tid).status == pending
    ipns = [*checkout.ipns["authorise"], pending]
    assert [i["postfinance_status"] for i in receiver.wait_for(len(ipns))] == ipns
    payid = state(db, tid).payid
    assert f'value="{office[0]}"' in testapp.get("/sandbox/checkout/transactions").text  # its button
    for operation in office:
        testapp.post("/sandbox/checkout/transactions", {"id": payid, "operation": operation, "lose": "1"})
    assert state(db, tid).operations == [(kind, int(amount), "pending", pending)]
    if told:
        testapp.post("/sandbox/checkout/transactions", {"id": payid, "operation": "resend"})
    else:

        def age(session):
            session.scalar(select(Operation)).updated_at = utcnow() - timedelta(minutes=31)

        db.run(age)
        assert app.registry.tasks.directlink_sweep.call_local() == [tid]
    after = state(db, tid)
    assert (after.status, after.operations) == (status, [(kind, int(amount), settled, status)])
    assert ("operationDone" if settled == "done" else "operationRefused") in after.logs
    assert [i["postfinance_status"] for i in receiver.wait_for(len(ipns) + 1)] == [*ipns, status]
    assert receiver.wait_idle() and len(receiver.received) == len(ipns) + 1
    assert checkout.status_held(tid) == status
    if status == "5":  # refused, the payment as it was: it may be captured or cancelled again
        operate(db, app, tid, kind, key="again")
        assert state(db, tid).operations[-1][:3] == (kind, int(amount), "pending")


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

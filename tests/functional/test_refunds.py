"""Refunds, captures and cancellations end to end (PROTOCOL §10): a website's API call or the
service, the task asking the sandbox's ``maintenancedirect.asp`` over real HTTP with SHA-IN, the
answer applied through ``apply_report``, later post-sales settling what was pending, the IPN."""

from types import SimpleNamespace
from urllib.parse import quote

import pytest
from sqlalchemy import select

from polybanking.models import Operation, Transaction, TransactionLog
from polybanking.sandbox.epayment.ledger import Ledger
from polybanking.services.operations.request import request_operation

from ..website import hidden_fields, path_of, start_params


@pytest.fixture
def ledger(app):
    app.registry.sandbox_ledger = Ledger()
    return app.registry.sandbox_ledger


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


def backoffice(testapp, payid, action):
    """The sandbox's later operation on a payment, with the post-sale PostFinance sends."""
    testapp.post("/sandbox/ncol/test/transactions", {"pay_id": payid, "action": action, "postsale": "1"})


def test_partial_refunds_then_the_rest_make_it_refunded_and_the_website_is_told(
    testapp, make_config, db, receiver, ledger
):
    config = make_config(api_refunds=True)
    tid = paid(testapp, config)
    assert [i["postfinance_status"] for i in receiver.wait_for(1)] == ["9"]

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
    ipns = receiver.wait_for(2)
    assert [(i["postfinance_status"], i["postfinance_status_good"]) for i in ipns] == [
        ("9", "True"),
        ("8", "False"),
    ]
    nothing_left = refund(testapp, config, idempotency_key="r-4", amount="1")
    assert nothing_left.status_int == 409
    lines = [(e.pay_id_sub, e.status, e.line_amount) for e in ledger.entries("test")]
    assert lines == [(0, "9", 1000), (1, "8", 300), (2, "8", 700)]


def test_a_pending_refund_is_settled_by_the_later_post_sale(testapp, make_config, db, receiver, ledger):
    config = make_config(api_refunds=True)
    tid = paid(testapp, config, amount="2081")
    answer = refund(testapp, config, idempotency_key="all")  # 20.81: the sandbox keeps it pending
    assert answer.status_int == 201
    pending = state(db, tid)
    assert pending.operations == [("refund", 2081, "pending", "81")]
    assert (pending.status, pending.refunded, pending.reserved) == ("9", 0, 2081)
    assert "operationPending" in pending.logs
    assert refund(testapp, config, idempotency_key="more", amount="1").status_int == 409  # reserved

    backoffice(testapp, pending.payid, "refund-done")  # PAYIDSUB 2, status 8, by post-sale
    done = state(db, tid)
    assert done.operations == [("refund", 2081, "done", "8")]
    assert (done.status, done.sub, done.refunded) == ("8", 2, 2081)
    assert [i["postfinance_status"] for i in receiver.wait_for(2)] == ["9", "8"]
    assert refund(testapp, config, idempotency_key="all").json["data"]["state"] == "done"


def test_a_refused_refund_gives_its_amount_back_and_changes_nothing_websites_see(
    testapp, make_config, db, receiver, ledger
):
    config = make_config(api_refunds=True)
    tid = paid(testapp, config, amount="5000")
    assert refund(testapp, config, idempotency_key="x", amount="1083").status_int == 201  # acquirer refuses
    refused = state(db, tid)
    assert refused.operations == [("refund", 1083, "refused", "83")]
    assert (refused.status, refused.refunded, refused.reserved) == ("9", 0, 0)
    assert "operationRefused" in refused.logs
    assert refund(testapp, config, idempotency_key="x").json["data"]["state"] == "refused"
    assert refund(testapp, config, idempotency_key="y", amount="5000").status_int == 201
    assert state(db, tid).status == "8"


def test_a_pending_refund_refused_later(testapp, make_config, db, ledger):
    config = make_config(api_refunds=True)
    tid = paid(testapp, config, amount="1000")
    refund(testapp, config, idempotency_key="a", amount="181")
    backoffice(testapp, state(db, tid).payid, "refund-refused")
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


def test_a_checkout_payment_is_refused_before_anything_is_reserved(testapp, make_config, db):
    """Checkout's operations are not built yet: a clear 409, nothing reserved, nothing sent."""
    config = make_config(platform="checkout", api_refunds=True)

    def add(session):
        transaction = Transaction(
            config_id=config.id, reference="order-1", amount=1000, postfinance_status="9", postfinance_id="77"
        )
        session.add(transaction)
        session.flush()
        return transaction.id

    transaction_id = db.run(add)
    answer = refund(testapp, config, idempotency_key="k1", amount="500", status=409)
    assert "back office" in answer.json["error"]
    after = state(db, transaction_id)
    assert (after.reserved, after.refunded, after.operations) == (0, 0, [])


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
    testapp, app, make_config, db, receiver, ledger, kind, status
):
    config = make_config()
    tid = paid(testapp, config, outcome="authorise")
    assert state(db, tid).status == "5"
    assert operate(db, app, tid, kind) is True
    after = state(db, tid)
    assert after.operations == [(kind, 1000, "done", status)] and after.status == status
    ipns = receiver.wait_for(2)
    assert [i["postfinance_status"] for i in ipns] == ["5", status]
    assert [e.status for e in ledger.entries("test")] == ["5", status]


def test_a_pending_cancellation_shows_the_platforms_status_until_done(testapp, app, make_config, db, ledger):
    config = make_config()
    tid = paid(testapp, config, amount="381", outcome="authorise")
    operate(db, app, tid, "cancel")
    assert state(db, tid).operations == [("cancel", 381, "pending", "61")]
    assert state(db, tid).status == "61"
    backoffice(testapp, state(db, tid).payid, "cancel-done")
    assert (state(db, tid).status, state(db, tid).operations[0][2]) == ("6", "done")


def test_a_task_run_twice_asks_the_platform_once(testapp, app, make_config, db, ledger):
    config = make_config(api_refunds=True)
    tid = paid(testapp, config)
    refund(testapp, config, idempotency_key="k", amount="100")
    operation_id = db.run(lambda s: s.scalar(select(Operation.id)))
    assert app.registry.tasks.run_operation.call_local(operation_id) is False
    assert len(ledger.entries("test")) == 2 and state(db, tid).refunded == 100


def test_a_pending_refund_whose_post_sale_was_lost_is_settled_by_a_status_query(
    testapp, app, make_config, db, receiver, ledger
):
    from datetime import timedelta

    from polybanking.models.meta import utcnow

    config = make_config(api_refunds=True)
    tid = paid(testapp, config, amount="581")
    refund(testapp, config, idempotency_key="all")
    payid = state(db, tid).payid
    testapp.post(
        "/sandbox/ncol/test/transactions", {"pay_id": payid, "action": "refund-done"}
    )  # no post-sale
    tasks = app.registry.tasks
    assert tasks.directlink_sweep.call_local() == []  # sent just now: not yet

    def age(session):
        session.scalar(select(Operation)).updated_at = utcnow() - timedelta(minutes=31)

    db.run(age)
    assert tasks.directlink_sweep.call_local() == [tid]
    after = state(db, tid)
    assert after.operations == [("refund", 581, "done", "8")]
    assert (after.status, after.refunded) == ("8", 581)
    assert [i["postfinance_status"] for i in receiver.wait_for(2)] == ["9", "8"]
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

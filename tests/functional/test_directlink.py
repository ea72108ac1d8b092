"""PROTOCOL §9: the gateway asks PostFinance (here the sandbox, over real HTTP) about payments whose
outcome it does not know, applies the answer like a feedback (logged, IPN on a change), and stops
asking after a while. Tasks run synchronously (``huey.immediate``)."""

from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from polybanking.models import Transaction, TransactionLog
from polybanking.models.meta import utcnow
from polybanking.platforms.epayment import directlink as pf_directlink
from polybanking.services.reconcile import janitor as directlink

from ..website import hidden_fields, path_of, start_params

QUERY = "/sandbox/ncol/test/querydirect.asp"


@pytest.fixture
def tasks(app):
    return app.registry.tasks


def start(testapp, config, reference="order-1", amount="550"):
    """Start a payment and open its go link: the shopper is now at PostFinance's page."""
    answer = testapp.post("/paiements/start/", start_params(config, amount, reference))
    form = hidden_fields(testapp.get(path_of(answer.json["url"])).text)
    return SimpleNamespace(form=form, transaction_id=int(form["ORDERID"].rsplit("-", 1)[1]))


def pay(testapp, order, outcome="pay", lose=False):
    """The shopper's choice on the sandbox's page (optionally with the feedback lost)."""
    fields = dict(order.form, outcome=outcome)
    if lose:
        fields["lose_feedback"] = "1"
    return testapp.post("/sandbox/ncol/test/decide", fields, expect_errors=True)


def age(db, transaction_id, minutes=31):
    """Make everything that happened to the transaction ``minutes`` older."""
    past = utcnow() - timedelta(minutes=minutes)

    def run(session):
        t = session.get(Transaction, transaction_id)
        t.last_userforwarded_date = past
        if t.last_postfinance_ipn_date:
            t.last_postfinance_ipn_date = past
        if t.last_user_back_from_postfinance_date:
            t.last_user_back_from_postfinance_date = past

    db.run(run)


def state(db, transaction_id):
    def run(session):
        t = session.get(Transaction, transaction_id)
        logs = session.execute(
            select(TransactionLog.log_type, TransactionLog.extra_data)
            .where(TransactionLog.transaction_id == transaction_id)
            .order_by(TransactionLog.id)
        ).all()
        return SimpleNamespace(
            status=t.postfinance_status,
            internal=t.internal_status,
            payid=t.postfinance_id,
            attempts=t.directlink_attempts,
            next_at=t.directlink_next_at,
            flagged=t.flagged,
            logs=[tuple(row) for row in logs],
        )

    return db.run(run)


def test_a_payment_whose_feedback_was_lost_is_found_and_the_website_told(
    testapp, make_config, receiver, db, tasks, ledger
):
    order = start(testapp, make_config())
    assert "lost on purpose" in pay(testapp, order, lose=True).text
    assert state(db, order.transaction_id).internal == "fw" and receiver.received == []

    assert tasks.directlink_sweep.call_local() == []  # forwarded less than 30 minutes ago: not yet
    age(db, order.transaction_id)
    assert tasks.directlink_sweep.call_local() == [order.transaction_id]

    after = state(db, order.transaction_id)
    assert (after.status, after.internal, after.attempts) == ("9", "fb", 0)
    assert after.payid == ledger.latest("test", order_id=order.form["ORDERID"]).pay_id
    assert ("directLink", f"status 9, PAYID {after.payid}/0") in after.logs
    assert ("postfinanceStatus", "9") in after.logs
    ipns = receiver.wait_for(1, timeout=5)
    assert [(i["reference"], i["postfinance_status"], i["postfinance_status_good"]) for i in ipns] == [
        ("order-1", "9", "True")
    ]
    assert tasks.directlink_sweep.call_local() == []  # known now: no more questions


def test_an_uncertain_payment_is_asked_about_until_resolved(
    testapp, make_config, receiver, db, tasks, ledger
):
    order = start(testapp, make_config())
    pay(testapp, order, outcome="uncertain")
    assert state(db, order.transaction_id).status == "92"
    assert [i["postfinance_status"] for i in receiver.wait_for(1, timeout=5)] == ["92"]

    age(db, order.transaction_id)
    assert tasks.directlink_sweep.call_local() == [order.transaction_id]  # still 92 at PostFinance
    still = state(db, order.transaction_id)
    assert (still.status, still.attempts) == ("92", 1)
    assert still.next_at > utcnow() + timedelta(minutes=29)
    assert len(receiver.received) == 1  # no change, no IPN

    payid = ledger.latest("test", order_id=order.form["ORDERID"]).pay_id
    testapp.post("/sandbox/ncol/test/transactions", {"pay_id": payid, "action": "resolve-paid"}, status=303)
    db.run(
        lambda s: s.execute(update(Transaction).values(directlink_next_at=utcnow() - timedelta(seconds=1)))
    )
    assert tasks.directlink_sweep.call_local() == [order.transaction_id]
    assert state(db, order.transaction_id).status == "9"
    assert [i["postfinance_status"] for i in receiver.wait_for(2, timeout=5)] == ["92", "9"]


def test_an_order_postfinance_never_saw_is_asked_about_a_few_times_then_left(
    testapp, make_config, receiver, db, tasks, ledger, settings
):
    order = start(testapp, make_config())
    age(db, order.transaction_id)
    assert tasks.directlink_sweep.call_local() == [order.transaction_id]
    first = state(db, order.transaction_id)
    assert (first.internal, first.status, first.attempts) == ("fw", None, 1)
    assert (
        first.logs[-1][0] == "directLink" and "unknown to PostFinance (NCERROR 50001130" in first.logs[-1][1]
    )
    assert tasks.directlink_sweep.call_local() == []  # the next question waits

    maximum = settings.reconcile.max_queries
    db.run(
        lambda s: s.execute(
            update(Transaction).values(directlink_attempts=maximum - 1, directlink_next_at=utcnow())
        )
    )
    assert tasks.directlink_sweep.call_local() == [order.transaction_id]
    assert state(db, order.transaction_id).logs[-1][1].endswith("(last check)")
    db.run(lambda s: s.execute(update(Transaction).values(directlink_next_at=None)))
    assert tasks.directlink_sweep.call_local() == []  # stopped asking
    assert receiver.received == []


def test_old_transactions_are_never_asked_about(testapp, make_config, db, tasks, ledger, settings):
    order = start(testapp, make_config())
    age(db, order.transaction_id, minutes=int(settings.reconcile.give_up_after.total_seconds() // 60) + 1)
    assert tasks.directlink_sweep.call_local() == []
    assert state(db, order.transaction_id).attempts == 0


def test_paid_and_refused_transactions_are_not_asked_about(testapp, make_config, db, tasks, ledger):
    config = make_config()
    for reference, outcome in (("a", "pay"), ("b", "decline")):
        order = start(testapp, config, reference)
        pay(testapp, order, outcome)
        age(db, order.transaction_id)
    assert tasks.directlink_sweep.call_local() == []


def test_no_directlink_access_means_no_questions(app, make_config, testapp, db, ledger, settings):
    order = start(testapp, make_config())
    age(db, order.transaction_id)
    without = replace(settings, test=replace(settings.test, password=""), prod=None)
    assert db.run(lambda s: directlink.claim_due(s, without)) == []
    assert db.run(lambda s: directlink.prepare(s, without, order.transaction_id)) is None


def test_an_answer_that_does_not_match_the_amount_flags_the_transaction(
    testapp, make_config, db, ledger, settings
):
    order = start(testapp, make_config(), amount="550")
    question = db.run(lambda s: directlink.prepare(s, settings, order.transaction_id))
    answer = pf_directlink.Answer(
        {
            "ORDERID": order.form["ORDERID"],
            "PAYID": "3000000001",
            "STATUS": "9",
            "AMOUNT": "0.01",
            "CURRENCY": "CHF",
        }
    )
    outcome = db.run(lambda s: directlink.apply_answer(s, settings, question, answer))
    assert outcome.mismatch and not outcome.status_changed
    after = state(db, order.transaction_id)
    assert after.flagged and after.status is None
    assert [t for t, _ in after.logs][-2:] == ["directLink", "postfinanceMismatch"]


@pytest.mark.parametrize(
    ("values", "logged"),
    [
        ({"ORDERID": "polybanking-999999", "STATUS": "9"}, "answer about another order"),
        ({"STATUS": "9", "PAYID": "x1"}, "unreadable answer: PAYID is not a number"),
        ({"STATUS": "", "NCERROR": "50001119"}, "no status (NCERROR 50001119"),
    ],
)
def test_answers_that_change_nothing(testapp, make_config, db, ledger, settings, values, logged):
    order = start(testapp, make_config())
    question = db.run(lambda s: directlink.prepare(s, settings, order.transaction_id))
    answer = pf_directlink.Answer({"ORDERID": order.form["ORDERID"], **values})
    assert db.run(lambda s: directlink.apply_answer(s, settings, question, answer)) is None
    after = state(db, order.transaction_id)
    assert after.status is None and after.internal == "fw"
    assert after.logs[-1][0] == "directLink" and after.logs[-1][1].startswith(logged)


def test_the_question_never_shows_the_password(testapp, make_config, db, settings, caplog):
    order = start(testapp, make_config())
    question = db.run(lambda s: directlink.prepare(s, settings, order.transaction_id))
    assert question.fields["PSWD"] == settings.test.password
    assert settings.test.password not in repr(question)
    with pytest.raises(pf_directlink.DirectLinkError) as caught:
        pf_directlink.query("http://127.0.0.1:9/querydirect.asp", question.fields, timeout=2)
    assert settings.test.password not in str(caught.value)
    logged = db.run(lambda s: directlink.apply_answer(s, settings, question, None, str(caught.value)))
    assert logged is None
    assert state(db, order.transaction_id).logs[-1][1].startswith("no answer: ConnectionError")
    assert settings.test.password not in caplog.text


# --- the client against junk ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"ok", "not XML"),
        (b"<html><body>maintenance</body></html>", "no <ncresponse>"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><ncresponse STATUS="9"/>', "DOCTYPE"),
        (b"<ncresponse " + b"a" * 70000, "too long"),
    ],
)
def test_unusable_answers_are_errors(body, words):
    with pytest.raises(pf_directlink.DirectLinkError) as caught:
        pf_directlink.parse_answer(body)
    assert words in str(caught.value)


def test_a_non_200_answer_is_an_error(receiver):
    receiver.statuses = [500]
    with pytest.raises(pf_directlink.DirectLinkError, match="HTTP 500"):
        pf_directlink.query(receiver.url, {"ORDERID": "x"}, timeout=5)


# --- the sandbox's querydirect.asp ----------------------------------------------------------------


def credentials(settings, **changes):
    fields = {"PSPID": settings.test.pspid, "USERID": settings.test.userid, "PSWD": settings.test.password}
    return fields | changes


@pytest.mark.parametrize(
    "wrong", [{"PSWD": "guess"}, {"USERID": "someone"}, {"PSPID": "Other"}, {"PSWD": ""}]
)
def test_the_sandbox_refuses_wrong_credentials(testapp, settings, ledger, wrong):
    page = testapp.post(QUERY, credentials(settings, ORDERID="polybanking-1", **wrong))
    answer = pf_directlink.parse_answer(page.body)
    assert (answer.status, answer.nc_error) == ("", "50001119")


def test_the_sandbox_answers_by_orderid_or_payid(testapp, make_config, settings, ledger):
    order = start(testapp, make_config())
    pay(testapp, order, "authorise")
    entry = ledger.latest("test", order_id=order.form["ORDERID"])
    by_order = pf_directlink.parse_answer(
        testapp.post(QUERY, credentials(settings, ORDERID=entry.order_id)).body
    )
    by_payid = pf_directlink.parse_answer(testapp.post(QUERY, credentials(settings, PAYID=entry.pay_id)).body)
    assert by_order == by_payid
    assert (by_order.status, by_order.values["AMOUNT"], by_order.values["PAYID"]) == (
        "5",
        "5.5",
        entry.pay_id,
    )
    unknown = pf_directlink.parse_answer(testapp.post(QUERY, credentials(settings, ORDERID="nope")).body)
    assert (unknown.status, unknown.nc_error) == ("", "50001130")
    assert testapp.get(QUERY, expect_errors=True).status_int == 404
    assert testapp.post("/sandbox/ncol/elsewhere/querydirect.asp", {}, expect_errors=True).status_int == 404

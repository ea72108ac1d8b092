"""PROTOCOL §2 → §3 → sandbox → §5 → §6: a website's payment, end to end, with real signatures."""

import pytest
from sqlalchemy import select

from polybanking.models import Transaction, TransactionLog

from ..platforms import pay_through_sandbox
from ..website import (
    form_action,
    hidden_fields,
    path_of,
    postfinance_sha,
    query_of,
    start_params,
    website_sign,
)


def test_go_form_is_what_postfinance_accepts(testapp, make_config, settings):
    config = make_config()
    answer = testapp.post("/paiements/start/", start_params(config, "550", "order-42"))
    go = testapp.get(path_of(answer.json["url"]))
    fields = hidden_fields(go.text)
    assert form_action(go.text) == settings.test.url
    assert set(fields) == {
        "PSPID",
        "ORDERID",
        "AMOUNT",
        "CURRENCY",
        "ACCEPTURL",
        "DECLINEURL",
        "EXCEPTIONURL",
        "CANCELURL",
        "SHASIGN",
    }
    assert fields["AMOUNT"] == "550" and fields["CURRENCY"] == "CHF"
    assert fields["PSPID"] == settings.test.pspid
    assert fields["ORDERID"].startswith("polybanking-")
    for name in ("ACCEPTURL", "DECLINEURL", "EXCEPTIONURL", "CANCELURL"):
        assert fields[name] == settings.url("/paiements/return")
    # Recomputed from PROTOCOL §4 alone, with the account's SHA-IN passphrase.
    assert fields["SHASIGN"] == postfinance_sha(fields, settings.test.sha_in, "sha512")


@pytest.mark.parametrize(
    ("outcome", "status", "good", "shop_page"),
    [
        ("pay", "9", "True", "http://127.0.0.1:9/shop/ok"),
        ("authorise", "5", "True", "http://127.0.0.1:9/shop/ok"),
        ("cancel", "1", "False", "http://127.0.0.1:9/shop/err"),
        ("decline", "2", "False", "http://127.0.0.1:9/shop/err"),
        ("uncertain", "92", "False", "http://127.0.0.1:9/shop/err"),
    ],
)
def test_payment_outcome_reaches_shopper_and_website(
    testapp, make_config, receiver, db, outcome, status, good, shop_page
):
    config = make_config()
    back, _go = pay_through_sandbox(testapp, config, outcome)
    assert back.location == shop_page

    # Post-sale and browser return both arrived; one status change, so exactly one IPN.
    ipns = receiver.wait_for(1)
    assert len(ipns) == 1
    ipn = ipns[0]
    assert ipn["config"] == str(config.id)
    assert ipn["reference"] == "order-1"
    assert ipn["postfinance_status"] == status
    assert ipn["postfinance_status_good"] == good
    assert len(ipn["last_update"]) == 25 and ipn["last_update"].endswith("+00:00")
    signed = {k: v for k, v in ipn.items() if k != "sign"}
    assert ipn["sign"] == website_sign(config.key_ipn, signed)

    def state(session):
        t = session.scalar(select(Transaction))
        logs = session.scalars(select(TransactionLog.log_type).order_by(TransactionLog.id)).all()
        return t.postfinance_status, t.internal_status, t.ipn_needed, t.postfinance_id, logs

    pf_status, internal, ipn_needed, pay_id, logs = db.run(state)
    assert (pf_status, internal, ipn_needed) == (status, "fb", False)
    assert pay_id and pay_id.isdigit()
    for log_type in (
        "created",
        "userForwarded",
        "postfinanceId",
        "postfinanceStatus",
        "userBackFromPostfinance",
        "ipnsuccess",
    ):
        assert log_type in logs


def test_finished_payment_link_answers_404(testapp, make_config, platform):
    config = make_config(platform=platform.name)
    _back, go = platform.pay_through(testapp, config)
    assert testapp.get(go.request.path, expect_errors=True).status_int == 404


def test_query_of_return_carries_signed_feedback(testapp, make_config, settings):
    config = make_config()
    answer = testapp.post("/paiements/start/", start_params(config))
    go = testapp.get(path_of(answer.json["url"]))
    page = testapp.post(path_of(form_action(go.text)), hidden_fields(go.text))
    decided = testapp.post(path_of(form_action(page.text)), {**hidden_fields(page.text), "outcome": "pay"})
    params = query_of(decided.location)
    assert params["STATUS"] == "9" and params["amount"] == "5.5" and params["currency"] == "CHF"
    assert params["SHASIGN"] == postfinance_sha(params, settings.test.sha_out, "sha512")

"""PROTOCOL §3: the shopper's ``go`` link; unknown, disabled or already-answered links are 404."""

import pytest
from sqlalchemy import select, update

from polybanking.models import Config, Transaction, TransactionLog

from ..website import form_action, hidden_fields, path_of, postfinance_sha, start_params


def start(testapp, config, amount="550", reference="order-1") -> str:
    """The path of the ``go`` link a website gets for a new payment."""
    answer = testapp.post("/paiements/start/", start_params(config, amount, reference))
    assert answer.json["status"] == "OK"
    return path_of(answer.json["url"])


def state(db):
    def read(session):
        t = session.scalar(select(Transaction))
        logs = session.scalars(select(TransactionLog.log_type).order_by(TransactionLog.id)).all()
        return t.internal_status, t.last_userforwarded_date, logs

    return db.run(read)


def test_go_logs_user_forwarded_and_marks_the_transaction_forwarded(testapp, make_config, db, settings):
    config = make_config()
    go_path = start(testapp, config)
    assert state(db)[0] == "cr"

    page = testapp.get(go_path)
    assert page.status_int == 200
    assert page.content_type == "text/html"
    assert form_action(page.text) == settings.test.url
    assert "no-store" in page.headers.get("Cache-Control", "")

    internal, forwarded_at, logs = state(db)
    assert internal == "fw"
    assert forwarded_at is not None
    assert logs == ["created", "userForwarded"]


def test_go_again_before_any_feedback_still_works(testapp, make_config, db):
    config = make_config()
    go_path = start(testapp, config)
    first = hidden_fields(testapp.get(go_path).text)
    second = hidden_fields(testapp.get(go_path).text)
    assert first == second
    assert state(db)[2] == ["created", "userForwarded", "userForwarded"]


def test_go_form_carries_the_transactions_amount(testapp, make_config, settings):
    config = make_config()
    fields = hidden_fields(testapp.get(start(testapp, config, amount="123456")).text)
    assert fields["AMOUNT"] == "123456"
    assert fields["SHASIGN"] == postfinance_sha(fields, settings.test.sha_in, settings.hash_algorithm)


@pytest.mark.parametrize(
    "token",
    ["unknown", "1", "0", "-1", "x" * 64, "x" * 5000, "%C3%A9", "a%2Fb", "..%2F..%2Fadmin", "%00"],
)
def test_unknown_token_is_404_and_changes_nothing(testapp, make_config, snapshot, token):
    config = make_config()
    start(testapp, config)
    before = snapshot()
    answer = testapp.get(f"/paiements/go/{token}", expect_errors=True)
    assert answer.status_int == 404
    assert snapshot() == before


@pytest.mark.parametrize("suffix", ["%0A", "%00", "%20", "x", "/"])
def test_a_real_token_with_something_appended_is_404(testapp, make_config, snapshot, suffix):
    go_path = start(testapp, make_config())
    before = snapshot()
    assert testapp.get(go_path + suffix, expect_errors=True).status_int == 404
    assert snapshot() == before


def test_the_transaction_id_is_not_a_valid_token(testapp, make_config, db, snapshot):
    config = make_config()
    start(testapp, config)
    transaction_id = db.run(lambda s: s.scalar(select(Transaction.id)))
    before = snapshot()
    assert testapp.get(f"/paiements/go/{transaction_id}", expect_errors=True).status_int == 404
    assert snapshot() == before


@pytest.mark.parametrize("disabled", [{"active": False}, {"admin_enable": False}])
def test_token_of_a_disabled_config_is_404(testapp, make_config, db, snapshot, disabled):
    config = make_config()
    go_path = start(testapp, config)
    db.run(lambda s: s.execute(update(Config).where(Config.id == config.id).values(**disabled)))
    before = snapshot()
    assert testapp.get(go_path, expect_errors=True).status_int == 404
    assert snapshot() == before
    assert state(db)[0] == "cr"


def test_token_of_a_transaction_with_feedback_is_404(testapp, make_config, settings, snapshot, receiver):
    config = make_config()
    go_path = start(testapp, config)
    fields = hidden_fields(testapp.get(go_path).text)
    report = {
        "orderID": fields["ORDERID"],
        "amount": "5.5",
        "currency": "CHF",
        "STATUS": "2",
        "PAYID": "3000000001",
        "NCERROR": "30001001",
    }
    report["SHASIGN"] = postfinance_sha(report, settings.test.sha_out, settings.hash_algorithm)
    assert testapp.post("/paiements/ipn", report).status_int == 200

    before = snapshot()
    assert testapp.get(go_path, expect_errors=True).status_int == 404
    assert snapshot() == before


def test_each_transaction_has_its_own_go_link(testapp, make_config, db):
    config = make_config()
    first, second = start(testapp, config, "100", "a"), start(testapp, config, "200", "b")
    assert first != second
    assert hidden_fields(testapp.get(first).text)["AMOUNT"] == "100"
    assert hidden_fields(testapp.get(second).text)["AMOUNT"] == "200"


@pytest.mark.parametrize("path", ["/paiements/go/%FF", "/paiements/go/%C3%28", "/%FF"])
def test_undecodable_url_is_a_400_not_a_500(testapp, path):
    assert testapp.get(path, expect_errors=True).status_int == 400

"""PROTOCOL §5: PostFinance's feedback, built and signed here from §4 alone (no sandbox, no mocks).

Post-sale (``/paiements/ipn``) and the shopper's return (``/paiements/return``) carry the same
report; processing is idempotent, never moves backwards, and queues one IPN per real status change.
IPNs run synchronously after commit in tests (``huey.immediate``), so the receiver's count is final
when the request returns.
"""

import logging
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from polybanking.models import Transaction, TransactionLog

from ..website import hidden_fields, path_of, postfinance_sha, start_params

IPN, RETURN = "/paiements/ipn", "/paiements/return"
SHOP_OK, SHOP_ERR = "http://127.0.0.1:9/shop/ok", "http://127.0.0.1:9/shop/err"
PAYID = "3012345678"


def new_order(testapp, config, amount="550", reference="order-1") -> SimpleNamespace:
    """A started and forwarded payment; ``order_id`` is the ORDERID PostFinance was given."""
    answer = testapp.post("/paiements/start/", start_params(config, amount, reference))
    assert answer.json["status"] == "OK"
    fields = hidden_fields(testapp.get(path_of(answer.json["url"])).text)
    return SimpleNamespace(config=config, order_id=fields["ORDERID"], amount=amount, reference=reference)


@pytest.fixture
def order(testapp, make_config):
    return new_order(testapp, make_config())


@pytest.fixture
def sign(settings):
    """``params`` with SHASIGN recomputed over them as they are (PROTOCOL §4, SHA-OUT)."""

    def resign(params: dict[str, str]) -> dict[str, str]:
        unsigned = {k: v for k, v in params.items() if k != "SHASIGN"}
        return {
            **unsigned,
            "SHASIGN": postfinance_sha(unsigned, settings.test.sha_out, settings.hash_algorithm),
        }

    return resign


@pytest.fixture
def report(sign):
    """PostFinance's feedback as it sends it (mixed-case names), signed with SHA-OUT."""

    def make(order_id, status="9", amount="5.5", currency="CHF", payid=PAYID, payidsub="0", **extra):
        params = {
            "orderID": order_id,
            "currency": currency,
            "amount": amount,
            "PM": "CreditCard",
            "ACCEPTANCE": "test123" if status in ("5", "9") else "",
            "STATUS": status,
            "CARDNO": "XXXXXXXXXXXX1111",
            "PAYID": payid,
            "PAYIDSUB": payidsub,
            "NCERROR": "0",
            "BRAND": "VISA",
        }
        params.update(extra)
        return sign(params)

    return make


def send(testapp, endpoint: str, params, method: str = "POST", status: int | None = None):
    """Feedback on ``endpoint`` (the return by GET or POST); ``status`` checks the HTTP answer."""
    if method == "GET":
        answer = testapp.get(endpoint, params, expect_errors=True)
    else:
        answer = testapp.post(endpoint, params, expect_errors=True)
    if status is not None:
        assert answer.status_int == status, (answer.status, answer.text[:300])
    return answer


def read(db):
    """The one transaction's state and the log types written, in order."""

    def run(session):
        t = session.scalar(select(Transaction).order_by(Transaction.id))
        logs = session.scalars(select(TransactionLog.log_type).order_by(TransactionLog.id)).all()
        return SimpleNamespace(
            status=t.postfinance_status,
            internal=t.internal_status,
            payid=t.postfinance_id,
            payidsub=t.postfinance_id_sub,
            brand=t.brand,
            card=t.card,
            flagged=t.flagged,
            ipn_needed=t.ipn_needed,
            back_at=t.last_user_back_from_postfinance_date,
            postsale_at=t.last_postfinance_ipn_date,
            logs=logs,
        )

    return db.run(run)


def ipn_statuses(receiver, expected: int) -> list[str]:
    received = receiver.wait_for(expected, timeout=2)
    assert len(received) == expected, received
    return [ipn["postfinance_status"] for ipn in received]


# --- accepted reports -----------------------------------------------------------------------------


def test_accepted_post_sale_answers_200_with_empty_body_and_records_it(testapp, order, report, db, receiver):
    answer = send(testapp, IPN, report(order.order_id, "9"), status=200)
    assert answer.body == b""

    t = read(db)
    assert (t.status, t.internal, t.payid, t.payidsub) == ("9", "fb", PAYID, 0)
    assert (t.brand, t.card, t.flagged, t.ipn_needed) == ("VISA", "XXXXXXXXXXXX1111", False, False)
    assert t.postsale_at is not None and t.back_at is None
    for log_type in ("postfinanceId", "postfinanceStatus", "ipnsuccess"):
        assert log_type in t.logs
    assert "userBackFromPostfinance" not in t.logs

    [ipn] = receiver.wait_for(1)
    assert (ipn["config"], ipn["reference"]) == (str(order.config.id), "order-1")
    assert (ipn["postfinance_status"], ipn["postfinance_status_good"]) == ("9", "True")


@pytest.mark.parametrize(
    ("status", "shop_page", "good"),
    [("9", SHOP_OK, "True"), ("5", SHOP_OK, "True"), ("1", SHOP_ERR, "False"), ("2", SHOP_ERR, "False")]
    + [("92", SHOP_ERR, "False"), ("0", SHOP_ERR, "False")],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_return_redirects_the_shopper_and_records_it(
    testapp, order, report, db, receiver, status, shop_page, good, method
):
    answer = send(testapp, RETURN, report(order.order_id, status), method=method, status=303)
    assert answer.location == shop_page

    t = read(db)
    assert (t.status, t.internal) == (status, "fb")
    assert t.back_at is not None
    assert "userBackFromPostfinance" in t.logs
    [ipn] = receiver.wait_for(1)
    assert (ipn["postfinance_status"], ipn["postfinance_status_good"]) == (status, good)


@pytest.mark.parametrize("amount", ["5.50", "5.5", "5.500"])
def test_amount_is_hashed_as_received(testapp, order, report, db, amount):
    send(testapp, IPN, report(order.order_id, "9", amount=amount), status=200)
    t = read(db)
    assert (t.status, t.flagged) == ("9", False)


@pytest.mark.parametrize("amount", ["12", "12.00", "12.0"])
def test_whole_franc_amounts(testapp, make_config, report, db, amount):
    order = new_order(testapp, make_config(), amount="1200")
    send(testapp, RETURN, report(order.order_id, "9", amount=amount), status=303)
    assert read(db).status == "9"


def test_unknown_status_code_is_recorded_not_an_error(testapp, order, report, db, receiver):
    send(testapp, IPN, report(order.order_id, "42"), status=200)
    assert read(db).status == "42"
    assert ipn_statuses(receiver, 1) == ["42"]
    assert receiver.received[0]["postfinance_status_good"] == "False"


@pytest.mark.parametrize(
    "extra",
    [
        {"LANGUAGE": "fr_FR"},
        {"SESSIONID": "abc;def=1", "shopperRef": "42"},  # PARAMPLUS values come back as-is
        {"UNKNOWN_FIELD": "whatever", "x": "1"},
        {"LANGUAGE": "en_US", "COMPLUS_LIKE": "z", "Foo Bar": "é"},
    ],
)
@pytest.mark.parametrize("endpoint", [IPN, RETURN])
def test_parameters_outside_the_sha_out_list_are_ignored_by_the_check(
    testapp, order, report, db, extra, endpoint
):
    params = {**report(order.order_id, "9"), **extra}  # added after signing
    answer = send(testapp, endpoint, params)
    assert answer.status_int in (200, 303), answer.text[:300]
    assert read(db).status == "9"


@pytest.mark.parametrize("endpoint", [IPN, RETURN])
def test_a_sha_out_parameter_added_after_signing_breaks_the_check(testapp, order, report, snapshot, endpoint):
    before = snapshot()
    params = {**report(order.order_id, "9"), "COMPLUS": "added later"}
    send(testapp, endpoint, params, status=400)
    assert snapshot() == before


# --- the same report several times, later changes, stale reports ---------------------------------


@pytest.mark.parametrize(
    "channels",
    [
        [(IPN, "POST"), (RETURN, "GET")],
        [(RETURN, "GET"), (IPN, "POST")],
        [(IPN, "POST"), (IPN, "POST")],
        [(RETURN, "GET"), (RETURN, "POST"), (RETURN, "GET")],
        [(IPN, "POST"), (RETURN, "POST"), (IPN, "POST"), (RETURN, "GET")],
    ],
)
def test_the_same_report_twice_sends_one_ipn(testapp, order, report, db, receiver, channels):
    params = report(order.order_id, "9")
    for endpoint, method in channels:
        answer = send(testapp, endpoint, params, method=method)
        if endpoint == RETURN:
            assert answer.status_int == 303 and answer.location == SHOP_OK
        else:
            assert answer.status_int == 200 and answer.body == b""
    assert ipn_statuses(receiver, 1) == ["9"]
    t = read(db)
    assert t.status == "9" and t.logs.count("postfinanceStatus") == 1
    assert t.logs.count("postfinanceId") == 1
    # The browser's return and the post-sale repeating a status is the normal case, not an alarm.
    assert t.logs.count("postfinanceRepeated") == len(channels) - 1 and "postfinanceIgnored" not in t.logs


def test_a_duplicate_report_does_not_queue_an_ipn_even_when_the_first_one_failed(
    testapp, order, report, db, receiver
):
    receiver.statuses = [500, 200]
    send(testapp, IPN, report(order.order_id, "9"), status=200)
    assert ipn_statuses(receiver, 1) == ["9"]
    assert read(db).ipn_needed is True  # the outbox retries it later, not the next report
    send(testapp, RETURN, report(order.order_id, "9"), status=303)
    send(testapp, IPN, report(order.order_id, "9"), status=200)
    assert len(receiver.received) == 1
    t = read(db)
    assert t.ipn_needed is True and t.logs.count("ipnfailled") == 1


@pytest.mark.parametrize(
    "later",
    [
        [("5", "0"), ("9", "1")],
        [("5", "0"), ("9", "0")],
        [("51", "0"), ("5", "0"), ("9", "1")],
        [("91", "0"), ("9", "0")],
        [("9", "1"), ("8", "2")],  # a refund is a later operation
        [("9", "1"), ("81", "2"), ("8", "2")],
    ],
)
def test_each_later_status_change_sends_one_more_ipn(testapp, order, report, db, receiver, later):
    for status, payidsub in later:
        send(testapp, IPN, report(order.order_id, status, payidsub=payidsub), status=200)
        # The shopper's browser (or PostFinance's retry) brings the same report again: no new IPN.
        send(testapp, RETURN, report(order.order_id, status, payidsub=payidsub), status=303)
    assert ipn_statuses(receiver, len(later)) == [status for status, _sub in later]
    t = read(db)
    assert t.status == later[-1][0]
    assert t.payidsub == int(later[-1][1])
    assert t.logs.count("postfinanceStatus") == len(later)


@pytest.mark.parametrize(
    ("reports", "final"),
    [
        ([("9", "1"), ("5", "0")], "9"),  # lower PAYIDSUB
        ([("9", "1"), ("9", "0")], "9"),
        ([("8", "2"), ("9", "1")], "8"),  # the capture's report after the refund's
        ([("9", "0"), ("91", "0")], "9"),  # pending after final at the same PAYIDSUB
        ([("9", "0"), ("51", "0")], "9"),
        ([("5", "0"), ("51", "0")], "5"),
        ([("9", "0"), ("2", "0")], "9"),  # refused after paid
        ([("9", "0"), ("5", "0")], "9"),  # authorised after paid
        ([("9", "0"), ("92", "0")], "9"),
        ([("2", "0"), ("91", "0")], "2"),
    ],
)
@pytest.mark.parametrize("stale_channel", [IPN, RETURN])
def test_a_stale_report_never_moves_the_transaction_backwards(
    testapp, order, report, db, receiver, reports, final, stale_channel
):
    (first_status, first_sub), (stale_status, stale_sub) = reports
    send(testapp, IPN, report(order.order_id, first_status, payidsub=first_sub), status=200)
    before = read(db)

    answer = send(testapp, stale_channel, report(order.order_id, stale_status, payidsub=stale_sub))
    assert answer.status_int in (200, 303)

    t = read(db)
    assert t.status == final
    assert t.payidsub == before.payidsub
    assert t.logs.count("postfinanceStatus") == 1
    assert "postfinanceIgnored" in t.logs
    assert ipn_statuses(receiver, 1) == [first_status]


def test_a_second_payment_attempt_with_a_new_payid_wins_over_a_refusal(testapp, order, report, db, receiver):
    send(testapp, RETURN, report(order.order_id, "2", payid="3000000001"), status=303)
    send(testapp, RETURN, report(order.order_id, "9", payid="3000000002"), status=303)
    # The first attempt's post-sale request arrives late.
    send(testapp, IPN, report(order.order_id, "2", payid="3000000001"), status=200)
    t = read(db)
    assert (t.status, t.payid) == ("9", "3000000002")
    assert ipn_statuses(receiver, 2) == ["2", "9"]


# --- refused reports: nothing changed ------------------------------------------------------------


@pytest.fixture
def refused(testapp, snapshot, receiver):
    """Send ``params``, check the HTTP status, and that nothing changed and no IPN left."""

    def check(endpoint, params, status, method="POST", content_type=None):
        before = snapshot()
        if content_type:
            answer = testapp.post(endpoint, params=params, content_type=content_type, expect_errors=True)
        else:
            answer = send(testapp, endpoint, params, method=method)
        assert answer.status_int == status, (answer.status, answer.text[:300])
        assert "Location" not in answer.headers
        assert snapshot() == before
        assert receiver.received == []
        return answer

    return check


ENDPOINTS = [(IPN, "POST"), (RETURN, "GET"), (RETURN, "POST")]


@pytest.mark.parametrize(("endpoint", "method"), ENDPOINTS)
@pytest.mark.parametrize(
    "tamper",
    [
        {"STATUS": "5"},
        {"amount": "0.01"},
        {"amount": "5.50"},  # same value, different text: hashed as received
        {"currency": "EUR"},
        {"PAYID": "3999999999"},
        {"PAYIDSUB": "7"},
        {"BRAND": "MasterCard"},
        {"CARDNO": "XXXXXXXXXXXX9999"},
        {"NCERROR": "1"},
    ],
)
def test_tampered_report_is_400_and_changes_nothing(order, report, refused, endpoint, method, tamper):
    params = report(order.order_id, "9")
    params.update(tamper)
    refused(endpoint, params, 400, method)


@pytest.mark.parametrize(("endpoint", "method"), ENDPOINTS)
def test_tampered_orderid_is_400_and_changes_nothing(testapp, make_config, report, refused, endpoint, method):
    config = make_config()
    first = new_order(testapp, config, reference="a")
    second = new_order(testapp, config, reference="b")
    params = report(first.order_id, "9")
    params["orderID"] = second.order_id
    refused(endpoint, params, 400, method)


@pytest.mark.parametrize(("endpoint", "method"), ENDPOINTS)
@pytest.mark.parametrize(
    "signature",
    [
        None,  # missing
        "",
        "0" * 128,
        "not hex at all",
        "é" * 10,
    ],
)
def test_bad_or_missing_shasign_is_400(order, report, refused, endpoint, method, signature):
    params = report(order.order_id, "9")
    if signature is None:
        del params["SHASIGN"]
    else:
        params["SHASIGN"] = signature
    refused(endpoint, params, 400, method)


@pytest.mark.parametrize(("endpoint", "method"), ENDPOINTS)
@pytest.mark.parametrize("passphrase", ["sha_in", "prod_sha_out", "sha1", "unrestricted"])
def test_signature_made_with_the_wrong_secret_or_algorithm_is_400(
    order, settings, refused, report, endpoint, method, passphrase
):
    params = {k: v for k, v in report(order.order_id, "9").items() if k != "SHASIGN"}
    params["LANGUAGE"] = "en_US"
    if passphrase == "sha_in":
        sign = postfinance_sha(params, settings.test.sha_in, settings.hash_algorithm)
    elif passphrase == "prod_sha_out":
        sign = postfinance_sha(params, settings.prod.sha_out, settings.hash_algorithm)
    elif passphrase == "sha1":
        sign = postfinance_sha(params, settings.test.sha_out, "sha1")
    else:  # LANGUAGE is not on the SHA-OUT list: a signature including it is not PostFinance's
        sign = postfinance_sha(params, settings.test.sha_out, settings.hash_algorithm)
    refused(endpoint, {**params, "SHASIGN": sign}, 400, method)


def test_lower_case_shasign_is_accepted(testapp, order, report, db):
    params = report(order.order_id, "9")
    params["SHASIGN"] = params["SHASIGN"].lower()
    send(testapp, IPN, params, status=200)
    assert read(db).status == "9"


@pytest.mark.parametrize(("endpoint", "method"), ENDPOINTS)
@pytest.mark.parametrize(
    "order_id",
    [
        "polybanking-999999",
        "polybanking-2147483648",
        "polybanking-" + "9" * 18,
        "polybanking-" + "9" * 40,
        "other-12",
        "polybanking12",
        "polybanking-",
        "polybanking-1x",
        "Polybanking-1",
        "polybanking-１",
        "x-polybanking-1",
    ],
)
def test_unknown_or_foreign_orderid_is_404_and_changes_nothing(
    order, report, refused, endpoint, method, order_id
):
    answer = refused(endpoint, report(order_id, "9"), 404, method)
    if endpoint == RETURN:
        assert answer.content_type == "text/html"


@pytest.mark.parametrize(("endpoint", "method"), ENDPOINTS)
def test_foreign_prefix_with_our_id_is_404(order, report, refused, endpoint, method):
    number = order.order_id.rsplit("-", 1)[1]
    refused(endpoint, report(f"other-{number}", "9"), 404, method)


@pytest.mark.parametrize(("endpoint", "method"), ENDPOINTS)
@pytest.mark.parametrize(
    "bad",
    [
        {"STATUS": "9a"},
        {"STATUS": ""},
        {"STATUS": "-9"},
        {"STATUS": "９"},
        {"STATUS": "999"},
        {"STATUS": "9.0"},
        {"PAYIDSUB": "x"},
        {"PAYIDSUB": "-1"},
        {"PAYIDSUB": "1.0"},
        {"PAYIDSUB": "１"},
        {"PAYIDSUB": "9" * 30},
        {"PAYID": "12ab"},
        {"orderID": ""},
        {"BRAND": "VI\x00SA"},  # PostgreSQL cannot store NUL: refused before anything is written
        {"CARDNO": "XXXX\x001111"},
        {"currency": "CH\x00F"},
        {"amount": "5.5\x00"},
    ],
)
def test_unreadable_signed_values_are_400(order, report, sign, refused, endpoint, method, bad):
    params = report(order.order_id, "9")
    params.update(bad)
    # Signed as sent: the value itself is refused, not the signature.
    refused(endpoint, sign(params), 400, method)


def test_bad_signature_on_return_is_an_html_error_page_not_a_redirect(order, report, refused):
    params = {**report(order.order_id, "9"), "STATUS": "5"}
    answer = refused(RETURN, params, 400, "GET")
    assert answer.content_type == "text/html"
    assert "<html" in answer.text and "could not be verified" in answer.text
    assert SHOP_OK not in answer.text and SHOP_ERR not in answer.text


# --- amount or currency that do not match the order ------------------------------------------------


@pytest.mark.parametrize(
    "mismatch",
    [
        {"amount": "5.4"},
        {"amount": "55"},
        {"amount": "0.055"},
        {"amount": "550"},  # cents where francs are expected
        {"amount": "-5.5"},
        {"amount": "abc"},
        {"amount": ""},
        {"currency": "EUR"},
        {"currency": ""},
    ],
)
def test_mismatching_amount_or_currency_is_flagged_never_accepted(
    testapp, order, report, db, receiver, mismatch
):
    fields = {"amount": "5.5", "currency": "CHF", **mismatch}
    params = report(order.order_id, "9", **fields)
    send(testapp, IPN, params, status=200)

    t = read(db)
    assert t.flagged is True
    assert t.status is None and t.ipn_needed is False
    assert "postfinanceMismatch" in t.logs and "postfinanceStatus" not in t.logs
    assert receiver.received == []

    back = send(testapp, RETURN, params, method="GET", status=303)
    assert back.location == SHOP_ERR
    t = read(db)
    assert t.status is None and t.logs.count("postfinanceMismatch") == 2
    assert receiver.received == []


def test_mismatch_after_a_good_report_keeps_the_status_and_flags(testapp, order, report, db, receiver):
    send(testapp, IPN, report(order.order_id, "5"), status=200)
    send(testapp, IPN, report(order.order_id, "9", amount="0.01", payidsub="1"), status=200)
    t = read(db)
    assert (t.status, t.flagged) == ("5", True)
    assert ipn_statuses(receiver, 1) == ["5"]
    assert send(testapp, RETURN, report(order.order_id, "9", currency="USD"), status=303).location == (
        SHOP_ERR
    )


# --- bytes, methods, logs, oversized values ------------------------------------------------------


@pytest.mark.parametrize("endpoint", [IPN, RETURN])
@pytest.mark.parametrize(
    "body",
    [
        b"orderID=polybanking-1&STATUS=9&BRAND=\xff\xfe&SHASIGN=AB",
        b"orderID=polybanking-1&STATUS=9&BRAND=%FF%FE&SHASIGN=AB",
        b"\xff\xfe=\xc3",
        b"orderID=%C3&STATUS=%FF",
    ],
)
def test_non_utf8_body_is_a_4xx_never_a_500(testapp, order, snapshot, receiver, endpoint, body):
    before = snapshot()
    answer = testapp.post(
        endpoint, params=body, content_type="application/x-www-form-urlencoded", expect_errors=True
    )
    assert 400 <= answer.status_int < 500, answer.status
    assert "Location" not in answer.headers
    assert snapshot() == before and receiver.received == []


@pytest.mark.parametrize("query", ["orderID=%FF&STATUS=9", "STATUS=%C3&SHASIGN=%FF", "%FF=%FE"])
def test_non_utf8_query_on_return_is_a_4xx_never_a_500(testapp, order, snapshot, query):
    before = snapshot()
    answer = testapp.get(f"{RETURN}?{query}", expect_errors=True)
    assert 400 <= answer.status_int < 500, answer.status
    assert snapshot() == before


def test_real_report_with_a_non_utf8_extra_field_is_not_a_500(testapp, order, report, db):
    body = "&".join(f"{k}={v}" for k, v in report(order.order_id, "9").items()).encode() + b"&X=%FF"
    answer = testapp.post(
        IPN, params=body, content_type="application/x-www-form-urlencoded", expect_errors=True
    )
    assert answer.status_int in (200, 400), answer.status


def test_get_on_the_post_sale_endpoint_is_405(testapp, order, snapshot):
    before = snapshot()
    assert testapp.get(IPN, expect_errors=True).status_int == 405
    assert snapshot() == before


def test_refused_feedback_is_logged(order, report, refused, caplog):
    caplog.set_level(logging.INFO, logger="polybanking")
    refused(IPN, {**report(order.order_id, "9"), "STATUS": "5"}, 400)
    refused(IPN, report("other-12", "9"), 404)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("SHA-OUT" in m for m in warnings), warnings
    assert any("not one of ours" in m for m in warnings), warnings


@pytest.mark.parametrize("endpoint", [IPN, RETURN])
@pytest.mark.parametrize(
    "oversized",
    [
        {"PAYID": "9" * 40},
        {"BRAND": "B" * 200},
        {"CARDNO": "X" * 200},
        {"NCERROR": "1" * 600},
        {"CN": "é" * 600},
    ],
)
def test_oversized_signed_values_are_never_a_500(
    testapp, order, report, db, snapshot, receiver, endpoint, oversized
):
    before = snapshot()
    answer = send(testapp, endpoint, report(order.order_id, "9", **oversized))
    assert answer.status_int < 500, answer.status
    if answer.status_int >= 400:
        assert snapshot() == before and receiver.received == []
    else:
        t = read(db)
        assert t.status == "9"
        assert ipn_statuses(receiver, 1) == ["9"]

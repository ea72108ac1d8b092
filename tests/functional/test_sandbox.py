"""The PostFinance sandbox (DESIGN.md): it checks SHA-IN like PostFinance, answers each outcome with
SHA-OUT signed parameters on the right return URL and by post-sale, and never runs in production."""

from urllib.parse import urlencode

import pytest
import webtest

from polybanking import main
from polybanking.settings import SettingsError

from ..conftest import app_settings_for
from ..website import form_action, hidden_fields, path_of, postfinance_sha, query_of

HOSTED = "/sandbox/ncol/test/orderstandard_utf8.asp"
DECIDE = "/sandbox/ncol/test/decide"
RETURN_URLS = {
    "ACCEPTURL": "http://shop.example.org/accept",
    "DECLINEURL": "http://shop.example.org/decline?from=pf",
    "CANCELURL": "http://shop.example.org/cancel",
    "EXCEPTIONURL": "http://shop.example.org/exception",
}
#: PROTOCOL §4, copied: the only parameters a SHA-OUT signature covers.
SHA_OUT_KEYS = set(
    """
    AAVADDRESS AAVCHECK AAVMAIL AAVNAME AAVPHONE AAVZIP ACCEPTANCE ALIAS AMOUNT BIC BIN BRAND
    CARDNO CCCTY CN COLLECTOR_BIC COLLECTOR_IBAN COMPLUS CREATION_STATUS CREDITDEBIT CURRENCY
    CVCCHECK DCC_COMMPERCENTAGE DCC_CONVAMOUNT DCC_CONVCCY DCC_EXCHRATE DCC_EXCHRATESOURCE
    DCC_EXCHRATETS DCC_INDICATOR DCC_MARGINPERCENTAGE DCC_VALIDHOURS DEVICEID DIGESTCARDNO ECI ED
    EMAIL ENCCARDNO FXAMOUNT FXCURRENCY IP IPCTY MANDATEID MOBILEMODE NBREMAILUSAGE NBRIPUSAGE
    NBRIPUSAGE_ALLTX NBRUSAGE NCERROR ORDERID PAYID PAYIDSUB PAYMENT_REFERENCE PM SCO_CATEGORY
    SCORING SEQUENCETYPE SIGNDATE STATUS SUBBRAND SUBSCRIPTION_ID TICKET TRXDATE VC
    """.split()
)
OUTCOMES = [
    ("pay", "9", "ACCEPTURL"),
    ("authorise", "5", "ACCEPTURL"),
    ("decline", "2", "DECLINEURL"),
    ("cancel", "1", "CANCELURL"),
    ("uncertain", "92", "EXCEPTIONURL"),
]


def order_form(settings, passphrase: str | None = None, env: str = "test", drop=(), **fields) -> dict:
    """A merchant's hosted-page form, signed with SHA-IN as PROTOCOL §4 says."""
    account = settings.test if env == "test" else settings.prod
    form = {
        "PSPID": account.pspid,
        "ORDERID": "shop-order-77",
        "AMOUNT": "1550",
        "CURRENCY": "CHF",
        "LANGUAGE": "fr_FR",
        **RETURN_URLS,
    }
    form.update(fields)
    for name in drop:
        form.pop(name)
    form["SHASIGN"] = postfinance_sha(form, passphrase or account.sha_in, settings.hash_algorithm)
    return form


def assert_refused(page, code: str) -> None:
    assert page.status_int == 400
    assert "Error" in page.text
    assert code in page.text
    assert "outcome" not in page.text  # no way to go on paying


def sha_out_ok(params: dict, settings) -> bool:
    signature = params["SHASIGN"]
    return signature == postfinance_sha(params, settings.test.sha_out, settings.hash_algorithm, SHA_OUT_KEYS)


# The hosted page ---------------------------------------------------------------------------------


def test_accepts_a_signed_form(testapp, settings):
    form = order_form(settings)
    page = testapp.post(HOSTED, form)
    assert page.status_int == 200
    assert "15.50" in page.text and "shop-order-77" in page.text
    assert form_action(page.text) == DECIDE
    assert hidden_fields(page.text) == form
    for outcome, _status, _url in OUTCOMES:
        assert f'value="{outcome}"' in page.text


def test_accepts_mixed_case_names(testapp, settings):
    form = order_form(settings)
    mixed = {name.lower() if name != "SHASIGN" else "shaSign": value for name, value in form.items()}
    assert testapp.post(HOSTED, mixed).status_int == 200


def test_refuses_a_wrong_shasign(testapp, settings):
    form = order_form(settings, passphrase="not-the-sha-in")
    assert_refused(testapp.post(HOSTED, form, expect_errors=True), "unknown order/1/s/")


def test_refuses_a_missing_shasign(testapp, settings):
    form = order_form(settings)
    del form["SHASIGN"]
    assert_refused(testapp.post(HOSTED, form, expect_errors=True), "unknown order/1/s/")


def test_refuses_a_form_changed_after_signing(testapp, settings):
    form = {**order_form(settings), "AMOUNT": "1"}
    assert_refused(testapp.post(HOSTED, form, expect_errors=True), "unknown order/1/s/")


def test_refuses_an_unknown_pspid(testapp, settings):
    form = order_form(settings, PSPID="SomeoneElse")
    assert_refused(testapp.post(HOSTED, form, expect_errors=True), "unknown PSPID")


def test_refuses_a_missing_orderid(testapp, settings):
    form = order_form(settings, drop=["ORDERID"])
    assert_refused(testapp.post(HOSTED, form, expect_errors=True), "ORDERID is missing")


@pytest.mark.parametrize("amount", ["abc", "15.50", "-5", "0", "1e3", "١٥", ""])
def test_refuses_an_amount_that_is_no_cents(testapp, settings, amount):
    form = order_form(settings, AMOUNT=amount)
    assert_refused(testapp.post(HOSTED, form, expect_errors=True), "AMOUNT")


def test_refuses_a_form_sent_in_latin1(testapp, settings):
    # Signed over "Café" in UTF-8 (the _utf8 page), but sent as ISO-8859-1 bytes.
    form = order_form(settings, COM="Café")
    body = urlencode(form, encoding="iso-8859-1").encode("ascii")
    page = testapp.post(HOSTED, body, content_type="application/x-www-form-urlencoded", expect_errors=True)
    assert page.status_int == 400 and "unknown order/" in page.text


def test_prod_page_checks_the_prod_account(testapp, settings):
    prod_page = "/sandbox/ncol/prod/orderstandard_utf8.asp"
    assert testapp.post(prod_page, order_form(settings, env="prod")).status_int == 200
    refused = testapp.post(prod_page, order_form(settings), expect_errors=True)
    assert refused.status_int == 400


def test_unknown_environment_is_404(testapp, settings):
    page = testapp.post(
        "/sandbox/ncol/other/orderstandard_utf8.asp", order_form(settings), expect_errors=True
    )
    assert page.status_int == 404


def test_hosted_page_takes_posts_only(testapp):
    assert testapp.get(HOSTED, expect_errors=True).status_int == 404


# Deciding ---------------------------------------------------------------------------------------


def hosted_page(testapp, settings, **fields):
    page = testapp.post(HOSTED, order_form(settings, **fields))
    return hidden_fields(page.text)


def test_decide_checks_sha_in_again(testapp, settings):
    fields = hosted_page(testapp, settings)
    tampered = {**fields, "AMOUNT": "1", "outcome": "pay"}
    assert_refused(testapp.post(DECIDE, tampered, expect_errors=True), "unknown order/1/s/")
    redirected = {**fields, "ACCEPTURL": "http://evil.example.org/", "outcome": "pay"}
    assert_refused(testapp.post(DECIDE, redirected, expect_errors=True), "unknown order/1/s/")


def test_decide_refuses_an_unknown_outcome(testapp, settings):
    fields = hosted_page(testapp, settings)
    page = testapp.post(DECIDE, {**fields, "outcome": "steal"}, expect_errors=True)
    assert page.status_int == 400 and "unknown outcome" in page.text


@pytest.mark.parametrize(("outcome", "status", "url_field"), OUTCOMES)
def test_each_outcome_redirects_to_its_url_with_signed_parameters(
    testapp, settings, outcome, status, url_field
):
    fields = hosted_page(testapp, settings)
    answer = testapp.post(DECIDE, {**fields, "outcome": outcome})
    assert answer.status_int == 303
    url = RETURN_URLS[url_field]
    assert answer.location.startswith(url + ("&" if "?" in url else "?"))
    params = query_of(answer.location)
    assert params.pop("from", None) == ("pf" if url_field == "DECLINEURL" else None)
    assert params["STATUS"] == status
    assert params["orderID"] == "shop-order-77"
    assert params["amount"] == "15.5" and params["currency"] == "CHF"
    assert params["PAYID"].isdigit() and params["PAYIDSUB"] == "0"
    assert sha_out_ok(params, settings)
    # Everything sent is on the SHA-OUT list, so a check over all parameters agrees.
    assert params["SHASIGN"] == postfinance_sha(params, settings.test.sha_out, settings.hash_algorithm)
    assert params["SHASIGN"] != postfinance_sha(params, settings.test.sha_in, settings.hash_algorithm)


def test_good_outcomes_report_a_card_and_bad_ones_an_error(testapp, settings):
    fields = hosted_page(testapp, settings)
    paid = query_of(testapp.post(DECIDE, {**fields, "outcome": "pay"}).location)
    declined = query_of(testapp.post(DECIDE, {**fields, "outcome": "decline"}).location)
    assert paid["NCERROR"] == "0" and paid["BRAND"] == "VISA" and paid["CARDNO"].endswith("1111")
    assert declined["NCERROR"] not in ("", "0")


def test_each_decision_gets_its_own_payid(testapp, settings):
    fields = hosted_page(testapp, settings)
    first = query_of(testapp.post(DECIDE, {**fields, "outcome": "pay"}).location)
    second = query_of(testapp.post(DECIDE, {**fields, "outcome": "pay"}).location)
    assert first["PAYID"] != second["PAYID"]


def test_extra_signed_fields_are_carried_to_the_decision(testapp, settings):
    # PostFinance accepts more fields than the sandbox reads (COM, TITLE, PARAMPLUS …); they are
    # part of the SHA-IN signature, so the decide step must get them back.
    fields = hosted_page(testapp, settings, COM="Order 77", PARAMPLUS="session=abc&x=1")
    assert fields["COM"] == "Order 77" and fields["PARAMPLUS"] == "session=abc&x=1"
    answer = testapp.post(DECIDE, {**fields, "outcome": "pay"})
    assert answer.status_int == 303


def test_form_without_return_url_shows_the_result(testapp, settings):
    fields = hosted_page(testapp, settings, drop=list(RETURN_URLS))
    page = testapp.post(DECIDE, {**fields, "outcome": "pay"})
    assert page.status_int == 200 and "Status 9" in page.text


# The post-sale request ----------------------------------------------------------------------------


@pytest.fixture
def postsale_app(base_settings, receiver, engine):
    """An app whose sandbox sends its post-sale request to ``receiver``."""
    settings = app_settings_for(base_settings, "http://127.0.0.1:9", **{"sandbox.postsale_url": receiver.url})
    application = main({}, **settings)
    yield webtest.TestApp(application, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    application.registry["dbengine"].dispose()


@pytest.mark.parametrize(("outcome", "status", "url_field"), OUTCOMES)
def test_post_sale_reaches_postsale_url_signed(postsale_app, receiver, outcome, status, url_field):
    settings = postsale_app.app.registry.pb_settings
    page = postsale_app.post(HOSTED, order_form(settings))
    answer = postsale_app.post(
        path_of(form_action(page.text)), {**hidden_fields(page.text), "outcome": outcome}
    )
    assert answer.status_int == 303
    received = receiver.wait_for(1)
    assert len(received) == 1
    post_sale = received[0]
    assert post_sale["STATUS"] == status and post_sale["orderID"] == "shop-order-77"
    assert sha_out_ok(post_sale, settings)
    # The browser gets the same report.
    redirect = query_of(answer.location)
    redirect.pop("from", None)
    assert redirect == post_sale
    assert receiver.headers[0]["Content-Type"] == "application/x-www-form-urlencoded"


def test_post_sale_failure_does_not_stop_the_shopper(base_settings, engine, settings):
    app_settings = app_settings_for(
        base_settings, "http://127.0.0.1:9", **{"sandbox.postsale_url": "http://127.0.0.1:9/nothing-listens"}
    )
    application = main({}, **app_settings)
    try:
        testapp = webtest.TestApp(application)
        page = testapp.post(HOSTED, order_form(settings))
        answer = testapp.post(DECIDE, {**hidden_fields(page.text), "outcome": "pay"})
        assert answer.status_int == 303
    finally:
        application.registry["dbengine"].dispose()


# The account's algorithm and SHA-OUT list -------------------------------------------------------------


def test_sandbox_follows_the_configured_hash_and_sha_out_list(base_settings, engine):
    keys = "ORDERID AMOUNT CURRENCY STATUS PAYID NCERROR"
    app_settings = app_settings_for(
        base_settings,
        "http://127.0.0.1:9",
        **{
            "postfinance.hash": "sha256",
            "postfinance.sha_out_keys": keys,
            "sandbox.postsale_url": "http://127.0.0.1:9/nothing-listens",
        },
    )
    application = main({}, **app_settings)
    try:
        testapp = webtest.TestApp(application)
        settings = application.registry.pb_settings
        assert settings.hash_algorithm == "sha256"
        sha512_signed = {**order_form(settings), "SHASIGN": ""}
        sha512_signed["SHASIGN"] = postfinance_sha(sha512_signed, settings.test.sha_in, "sha512")
        assert testapp.post(HOSTED, sha512_signed, expect_errors=True).status_int == 400
        page = testapp.post(HOSTED, order_form(settings))
        answer = testapp.post(DECIDE, {**hidden_fields(page.text), "outcome": "pay"})
        params = query_of(answer.location)
        assert "BRAND" in params and "IP" in params  # sent, but off this account's list
        assert params["SHASIGN"] == postfinance_sha(
            params, settings.test.sha_out, "sha256", set(keys.split())
        )
    finally:
        application.registry["dbengine"].dispose()


# Never in production ----------------------------------------------------------------------------


def test_production_refuses_the_sandbox(base_settings):
    settings = app_settings_for(
        base_settings,
        "https://payments.example.org",
        **{"sandbox.enabled": "true", "polybanking.production": "true"},
    )
    with pytest.raises(SettingsError) as caught:
        main({}, **settings)
    assert caught.value.key == "sandbox.enabled"


def test_production_from_the_environment_refuses_the_sandbox(base_settings, monkeypatch):
    monkeypatch.setenv("POLYBANKING_POLYBANKING_PRODUCTION", "true")
    settings = app_settings_for(base_settings, "https://payments.example.org", **{"sandbox.enabled": "true"})
    settings.pop("polybanking.production", None)
    with pytest.raises(SettingsError) as caught:
        main({}, **settings)
    assert caught.value.key == "sandbox.enabled"


@pytest.fixture
def app_without_sandbox(base_settings, engine):
    settings = app_settings_for(base_settings, "http://127.0.0.1:9", **{"sandbox.enabled": "false"})
    application = main({}, **settings)
    yield webtest.TestApp(application)
    application.registry["dbengine"].dispose()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/sandbox/"),
        ("POST", HOSTED),
        ("POST", "/sandbox/ncol/prod/orderstandard_utf8.asp"),
        ("POST", DECIDE),
        ("GET", "/sandbox/shop/"),
        ("GET", "/sandbox/checkout/transactions"),
        ("GET", "/sandbox/checkout/api/v2.0/payment/transactions/search"),
        ("POST", "/sandbox/checkout/api/v2.0/payment/transactions"),
        ("POST", "/sandbox/checkout/pay/100000"),
    ],
)
def test_disabled_sandbox_answers_404(app_without_sandbox, settings, method, path):
    testapp = app_without_sandbox
    if method == "GET":
        answer = testapp.get(path, expect_errors=True)
    else:
        answer = testapp.post(path, {**order_form(settings), "outcome": "pay"}, expect_errors=True)
    assert answer.status_int == 404


def test_production_without_sandbox_starts(base_settings, engine):
    settings = app_settings_for(
        base_settings,
        "https://payments.example.org",
        **{"sandbox.enabled": "false", "polybanking.production": "true"},
    )
    application = main({}, **settings)
    application.registry["dbengine"].dispose()

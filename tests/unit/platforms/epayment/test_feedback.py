"""PROTOCOL §5: reading PostFinance's feedback (names, structure, amounts, the SHA-OUT check)."""

import pytest

from polybanking.platforms.epayment.feedback import (
    Feedback,
    FeedbackError,
    amount_to_cents,
    normalise,
    parse,
    verify,
)
from polybanking.platforms.epayment.sha import DEFAULT_SHA_OUT_KEYS

from ....website import postfinance_sha

PASSPHRASE = "Mysecretsig1875!?"


def report(**overrides) -> dict[str, str]:
    params = {
        "ORDERID": "polybanking-12",
        "AMOUNT": "15.5",
        "CURRENCY": "CHF",
        "PM": "CreditCard",
        "ACCEPTANCE": "test123",
        "STATUS": "9",
        "CARDNO": "XXXXXXXXXXXX1111",
        "PAYID": "3012345678",
        "PAYIDSUB": "0",
        "NCERROR": "0",
        "BRAND": "VISA",
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


# normalise -------------------------------------------------------------------------------------


def test_normalise_upper_cases_names_and_keeps_values():
    pairs = [("orderID", "polybanking-1"), ("amount", "15.00"), ("currency", "chf"), ("PM", "CreditCard")]
    assert normalise(pairs) == {
        "ORDERID": "polybanking-1",
        "AMOUNT": "15.00",
        "CURRENCY": "chf",
        "PM": "CreditCard",
    }


def test_normalise_first_value_wins():
    pairs = [("STATUS", "9"), ("status", "2"), ("Status", "1"), ("AMOUNT", "1"), ("AMOUNT", "2")]
    assert normalise(pairs) == {"STATUS": "9", "AMOUNT": "1"}


def test_normalise_keeps_empty_values():
    assert normalise([("ED", ""), ("ED", "1229")]) == {"ED": ""}


def test_normalise_accepts_any_iterable():
    assert normalise(iter({"a": "1"}.items())) == {"A": "1"}
    assert normalise([]) == {}


# parse -----------------------------------------------------------------------------------------


def test_parse_reads_every_field():
    assert parse(report()) == Feedback(
        order_id="polybanking-12",
        pay_id="3012345678",
        pay_id_sub=0,
        status="9",
        amount_raw="15.5",
        amount_cents=1550,
        currency="CHF",
        brand="VISA",
        card="XXXXXXXXXXXX1111",
        nc_error="0",
    )


def test_parse_optional_fields_default_to_empty():
    feedback = parse({"ORDERID": "polybanking-1", "STATUS": "1"})
    assert feedback.pay_id == "" and feedback.pay_id_sub == 0
    assert feedback.amount_raw == "" and feedback.amount_cents is None
    assert (feedback.currency, feedback.brand, feedback.card, feedback.nc_error) == ("", "", "", "")


def test_parse_growing_payidsub():
    assert parse(report(PAYIDSUB="3")).pay_id_sub == 3
    assert parse(report(PAYIDSUB="")).pay_id_sub == 0


def test_parse_unreadable_amount_is_kept_raw_without_cents():
    feedback = parse(report(AMOUNT="15,50"))
    assert feedback.amount_raw == "15,50" and feedback.amount_cents is None


@pytest.mark.parametrize("order_id", [None, ""])
def test_parse_refuses_missing_orderid(order_id):
    with pytest.raises(FeedbackError, match="ORDERID"):
        parse(report(ORDERID=order_id))


@pytest.mark.parametrize("status", [None, "", "x", "9a", "123", "-1", " 9", "9 ", "٩", "²", "9.0"])
def test_parse_refuses_bad_status(status):
    with pytest.raises(FeedbackError, match="STATUS"):
        parse(report(STATUS=status))


@pytest.mark.parametrize("status", ["0", "5", "9", "92", "99", "3"])
def test_parse_accepts_status_codes(status):
    assert parse(report(STATUS=status)).status == status


@pytest.mark.parametrize("pay_id", ["abc", "12a", "-12", "1.5", " 12", "١٢", "12\n"])
def test_parse_refuses_bad_payid(pay_id):
    with pytest.raises(FeedbackError, match="PAYID"):
        parse(report(PAYID=pay_id))


@pytest.mark.parametrize("sub", ["x", "-1", "1.0", "1234567890", "١", " 1"])
def test_parse_refuses_bad_payidsub(sub):
    with pytest.raises(FeedbackError, match="PAYIDSUB"):
        parse(report(PAYIDSUB=sub))


@pytest.mark.parametrize("name", ["ORDERID", "CN", "COMPLUS", "UNKNOWN"])
def test_parse_refuses_over_long_values(name):
    with pytest.raises(FeedbackError, match=f"{name} is too long"):
        parse(report(**{name: "x" * 513}))


def test_parse_accepts_values_at_the_limit():
    assert parse(report(CN="x" * 512)).order_id == "polybanking-12"


@pytest.mark.parametrize(("name", "longest"), [("PAYID", 32), ("BRAND", 64), ("CARDNO", 64)])
def test_parse_refuses_stored_fields_longer_than_kept(name, longest):
    value = "1" * longest
    assert parse(report(**{name: value}))  # the longest that fits
    with pytest.raises(FeedbackError, match=f"{name} is too long"):
        parse(report(**{name: value + "1"}))


# amount_to_cents ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cents"),
    [
        ("15", 1500),
        ("12.5", 1250),
        ("15.00", 1500),
        ("15.50", 1550),
        ("0.05", 5),
        ("0.5", 50),
        ("5.5", 550),
        ("0", 0),
        ("1000000", 100000000),
        ("999999999999999.99", 99999999999999999),
    ],
)
def test_amount_to_cents(raw, cents):
    assert amount_to_cents(raw) == cents


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "0.001",
        "15.005",
        "abc",
        "-1",
        "-0",
        "+15",
        "NaN",
        "sNaN",
        "Infinity",
        "inf",
        # PostFinance writes plain decimals: scientific notation and Python's extras are junk.
        "1e3",
        "1E-2",
        "1_000",
        "١٥",  # Arabic-Indic digits
        " 15",
        "15 ",
        "15\n",
        "15,50",
        "15.",
        ".5",
        "1" * 30,
    ],
)
def test_amount_to_cents_refuses(raw):
    assert amount_to_cents(raw) is None


# verify ----------------------------------------------------------------------------------------


def test_verify_official_sha_out_vector():
    received = normalise(
        [
            ("orderID", "12"),
            ("currency", "EUR"),
            ("amount", "15"),
            ("PM", "CreditCard"),
            ("ACCEPTANCE", "1234"),
            ("STATUS", "9"),
            ("CARDNO", "xxxxxxxxxxxx1111"),
            ("PAYID", "32100123"),
            ("NCERROR", "0"),
            ("BRAND", "VISA"),
            ("SHASIGN", "B209960D5703DD1047F95A0F97655FFE5AC8BD52"),
        ]
    )
    assert verify(received, PASSPHRASE, "sha1", DEFAULT_SHA_OUT_KEYS)
    assert not verify({**received, "AMOUNT": "15.00"}, PASSPHRASE, "sha1", DEFAULT_SHA_OUT_KEYS)


def test_verify_ignores_parameters_off_the_list():
    params = report()
    params["SHASIGN"] = postfinance_sha(params, PASSPHRASE, "sha512")
    extra = {**params, "LANGUAGE": "fr_FR", "MYPARAM": "plus"}
    assert verify(extra, PASSPHRASE, "sha512", DEFAULT_SHA_OUT_KEYS)


def test_verify_refuses_missing_or_wrong_signature():
    params = report()
    assert not verify(params, PASSPHRASE, "sha512", DEFAULT_SHA_OUT_KEYS)
    params["SHASIGN"] = postfinance_sha(params, PASSPHRASE + "x", "sha512")
    assert not verify(params, PASSPHRASE, "sha512", DEFAULT_SHA_OUT_KEYS)
    params["SHASIGN"] = postfinance_sha(report(STATUS="2"), PASSPHRASE, "sha512")
    assert not verify(params, PASSPHRASE, "sha512", DEFAULT_SHA_OUT_KEYS)

"""PROTOCOL §3/§4: ORDERIDs and the SHA-IN signed form that sends a shopper to PostFinance."""

import pytest

from polybanking.platforms.epayment.form import (
    MAX_TRANSACTION_ID,
    format_order_id,
    parse_order_id,
    payment_form,
)

from ....website import postfinance_sha

RETURN_URL = "https://payments.example.org/paiements/return"


@pytest.mark.parametrize(
    ("prefix", "number"), [("polybanking", 1), ("polybanking", 42), ("shop_2", 2**31 - 1)]
)
def test_order_id_round_trips(prefix, number):
    order_id = format_order_id(prefix, number)
    assert order_id == f"{prefix}-{number}"
    assert parse_order_id(order_id, prefix) == number


def test_largest_order_id_is_the_largest_integer_id():
    # Transaction ids are INTEGER columns: a larger number must not even reach a query (PostgreSQL
    # fails on it instead of finding nothing).
    assert MAX_TRANSACTION_ID == 2**31 - 1
    assert parse_order_id(f"polybanking-{2**31 - 1}", "polybanking") == 2**31 - 1
    assert parse_order_id(f"polybanking-{2**31}", "polybanking") is None


@pytest.mark.parametrize(
    "order_id",
    [
        "other-12",  # foreign prefix
        "polybankingx-12",
        "xpolybanking-12",
        "Polybanking-12",
        "polybanking_12",
        "12",
        "polybanking-",  # the prefix alone
        "polybanking",
        "-12",
        "",
        "polybanking-12a",  # non-digits
        "polybanking-1.5",
        "polybanking--12",
        "polybanking-+12",
        "polybanking- 12",
        "polybanking-12 ",
        "polybanking-١٢",  # Arabic-Indic digits
        "polybanking-" + "9" * 11,  # huge numbers
        "polybanking-" + "9" * 19,
        "polybanking-" + "1" * 400,
        "polybanking-0",  # never written by format_order_id
        "polybanking-012",
        "polybanking-00000000001",
    ],
)
def test_parse_order_id_refuses(order_id):
    assert parse_order_id(order_id, "polybanking") is None


def test_parse_order_id_needs_the_configured_prefix():
    assert parse_order_id("shop-7", "shop") == 7
    assert parse_order_id("shop-7", "polybanking") is None
    assert parse_order_id("polybanking-7", "shop") is None


def _form(**overrides):
    arguments = {
        "pspid": "MyPSPID",
        "order_id": "polybanking-12",
        "amount_cents": 1550,
        "return_url": RETURN_URL,
        "sha_in": "Mysecretsig1875!?",
        "algorithm": "sha512",
    }
    arguments.update(overrides)
    return payment_form(**arguments)


def test_payment_form_fields():
    fields = _form()
    assert fields == {
        "PSPID": "MyPSPID",
        "ORDERID": "polybanking-12",
        "AMOUNT": "1550",
        "CURRENCY": "CHF",
        "ACCEPTURL": RETURN_URL,
        "DECLINEURL": RETURN_URL,
        "EXCEPTIONURL": RETURN_URL,
        "CANCELURL": RETURN_URL,
        "SHASIGN": fields["SHASIGN"],
    }


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("language", [None, "", "fr_FR"])
def test_payment_form_shasign_is_postfinance_sha_of_the_other_fields(algorithm, language):
    fields = _form(algorithm=algorithm, language=language, sha_in="pässphrase€")
    assert ("LANGUAGE" in fields) == bool(language)
    others = {name: value for name, value in fields.items() if name != "SHASIGN"}
    assert fields["SHASIGN"] == postfinance_sha(others, "pässphrase€", algorithm)
    assert fields["SHASIGN"] == fields["SHASIGN"].upper()


def test_payment_form_other_currency():
    fields = _form(currency="EUR")
    assert fields["CURRENCY"] == "EUR"
    others = {name: value for name, value in fields.items() if name != "SHASIGN"}
    assert fields["SHASIGN"] == postfinance_sha(others, "Mysecretsig1875!?")


def test_payment_form_refuses_unsupported_algorithm():
    with pytest.raises(ValueError):
        _form(algorithm="md5")

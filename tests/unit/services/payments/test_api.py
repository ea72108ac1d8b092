"""The API's pure parts: max_transaction, config ids from forms, the wire shape of a transaction."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from polybanking.models import Transaction, TransactionLog
from polybanking.services.payments.api import (
    ApiRefused,
    _row_id,
    parse_max_transaction,
    transaction_detail,
)


@pytest.mark.parametrize(
    ("raw", "limit"),
    [(None, 100), ("0", 0), ("7", 7), ("1000", 1000), ("1001", 1001), ("0007", 7), ("9" * 5000, 1001)],
)
def test_max_transaction(raw, limit):
    assert parse_max_transaction(raw) == limit


@pytest.mark.parametrize("raw", ["", "-1", "+1", "1.0", " 1", "١", "²", "1e2", "abc"])
def test_max_transaction_junk(raw):
    with pytest.raises(ApiRefused) as refused:
        parse_max_transaction(raw)
    assert refused.value.http_status == 400


@pytest.mark.parametrize(
    ("raw", "row_id"),
    [("1", 1), ("2147483647", 2147483647), ("2147483648", None), ("0", None), ("", None), ("-1", None),
     ("１", None), ("1 ", None), ("9" * 40, None), ("0000000001", 1)],
)  # fmt: skip
def test_row_id(raw, row_id):
    assert _row_id(raw) == row_id


def test_detail_of_a_paid_transaction_is_strings_except_amount_chf():
    when = datetime(2026, 11, 27, 10, 15, 3, 999999, tzinfo=UTC)
    transaction = Transaction(
        reference="r",
        extra_data=None,
        amount=1005,
        postfinance_id="3449298557",
        postfinance_status="9",
        internal_status="fb",
        ipn_needed=True,
        brand="VISA",
        card="XXXX1111",
        creation_date=when,
        last_userforwarded_date=None,
        last_user_back_from_postfinance_date=when,
        last_postfinance_ipn_date=None,
        last_ipn_date=None,
    )
    assert transaction_detail(transaction, ZoneInfo("Europe/Zurich")) == {
        "reference": "r",
        "extra_data": "",
        "amount": "1005",
        "amount_chf": 10.05,
        "postfinance_id": "3449298557",
        "postfinance_status": "9",
        "internal_status": "fb",
        "ipn_needed": "True",
        "brand": "VISA",
        "card": "XXXX1111",
        "creation_date": "2026-11-27 11:15:03+01:00",
        "last_userforwarded_date": "",
        "last_user_back_from_postfinance_date": "2026-11-27 11:15:03+01:00",
        "last_postfinance_ipn_date": "",
        "last_ipn_date": "",
        "postfinance_status_text": "Payment requested",
        "internal_status_text": "Feedback from PostFinance",
        "refunded_amount": "0",
    }


def test_unknown_status_and_log_type_are_shown_not_errors():
    transaction = Transaction(reference="r", amount=1, postfinance_status="77", internal_status="cr")
    assert transaction_detail(transaction, UTC)["postfinance_status_text"] == "Unknown (77)"
    assert TransactionLog(log_type="somethingNew").log_type_text == "somethingNew"

"""The one place that says what a transaction and a log line look like to websites (PROTOCOL §7)."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from polybanking.models import Config, Transaction, TransactionLog
from polybanking.services.payments.fields import (
    DETAIL_FIELDS,
    LOG_COLUMNS,
    LOG_FIELDS,
    TRANSACTION_COLUMNS,
    local_dates,
    local_text_dates,
    log_detail,
    transaction_detail,
)

ZURICH = ZoneInfo("Europe/Zurich")
LOCAL = local_dates(ZURICH)

PROTOCOL_DETAIL = (
    "reference extra_data amount amount_chf postfinance_id postfinance_status internal_status ipn_needed "
    "brand card creation_date last_userforwarded_date last_user_back_from_postfinance_date "
    "last_postfinance_ipn_date last_ipn_date postfinance_status_text internal_status_text refunded_amount"
).split()


def test_fields_are_protocols():
    assert list(DETAIL_FIELDS) == PROTOCOL_DETAIL
    assert list(LOG_FIELDS) == ["when", "extra_data", "log_type", "log_type_text"]


def test_a_paid_transaction(dbsession):
    config = Config(name="Shop")
    transaction = Transaction(
        config=config,
        reference="order/42",
        extra_data="size=XL",
        amount=550,
        postfinance_id="3001234",
        postfinance_status="9",
        internal_status="fb",
        ipn_needed=True,
        brand="VISA",
        card="XXXXXXXXXXXX1111",
        creation_date=datetime(2026, 11, 27, 10, 15, 0, 999999, tzinfo=UTC),
        last_userforwarded_date=datetime(2026, 11, 27, 10, 16, tzinfo=UTC),
        last_postfinance_ipn_date=datetime(2026, 11, 27, 10, 17, tzinfo=UTC),
    )
    dbsession.add(transaction)
    dbsession.flush()
    assert transaction_detail(transaction, LOCAL) == {
        "reference": "order/42",
        "extra_data": "size=XL",
        "amount": "550",
        "amount_chf": 5.5,
        "postfinance_id": "3001234",
        "postfinance_status": "9",
        "internal_status": "fb",
        "ipn_needed": "True",
        "brand": "VISA",
        "card": "XXXXXXXXXXXX1111",
        "creation_date": "2026-11-27 11:15:00+01:00",
        "last_userforwarded_date": "2026-11-27 11:16:00+01:00",
        "last_user_back_from_postfinance_date": "",
        "last_postfinance_ipn_date": "2026-11-27 11:17:00+01:00",
        "last_ipn_date": "",
        "postfinance_status_text": "Payment requested",
        "internal_status_text": "Feedback from PostFinance",
        "refunded_amount": "0",
    }
    assert list(transaction_detail(transaction, LOCAL)) == PROTOCOL_DETAIL


def test_a_new_transaction_has_empty_strings_not_none():  # and the original's "None", "??", "Unknow"
    transaction = SimpleNamespace(**{name: None for name in TRANSACTION_COLUMNS})
    transaction.reference, transaction.amount, transaction.internal_status = "r", 1, "cr"
    transaction.ipn_needed = False
    detail = transaction_detail(transaction, LOCAL)
    assert detail["postfinance_id"] == "None"
    assert detail["postfinance_status"] == "??" and detail["postfinance_status_text"] == "Unknow"
    assert detail["internal_status_text"] == "Transation created"  # sic, as the original
    assert detail["extra_data"] == "" and detail["creation_date"] == "" and detail["ipn_needed"] == "False"
    assert detail["amount_chf"] == 0.01
    assert all(value is not None for value in detail.values())


def test_unknown_status_is_shown_not_an_error():
    row = SimpleNamespace(**{name: None for name in TRANSACTION_COLUMNS})
    row.reference, row.amount, row.internal_status, row.postfinance_status = "r", 1, "zz", "77"
    detail = transaction_detail(row, LOCAL)
    assert detail["postfinance_status_text"] == "Unknown (77)"
    assert detail["internal_status_text"] == "zz"


def test_dates_already_written_by_the_database():
    row = SimpleNamespace(**{name: None for name in TRANSACTION_COLUMNS})
    row.reference, row.amount, row.internal_status = "r", 1, "cr"
    row.creation_date = "2026-11-27 10:15:00.123456"
    detail = transaction_detail(row, local_text_dates(ZURICH))
    assert detail["creation_date"] == "2026-11-27 11:15:00+01:00"
    assert detail["last_ipn_date"] == ""


def test_local_dates_carry_the_offset_of_their_day():
    assert LOCAL(datetime(2026, 7, 1, 22, 30, 5, 900000, tzinfo=UTC)) == "2026-07-02 00:30:05+02:00"
    assert LOCAL(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == "2027-01-01 00:00:00+01:00"
    assert LOCAL(None) == ""


@pytest.mark.parametrize(
    "zone", ["Europe/Zurich", "America/St_Johns", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
)
def test_text_dates_equal_the_datetimes_across_daylight_saving(zone):
    """The export's per-hour shortcut gives what converting each date gives, also in the hours
    where the offset changes and in zones whose offset is not whole hours."""
    tz = ZoneInfo(zone)
    from_text, from_datetime = local_text_dates(tz), local_dates(tz)
    for start in (
        datetime(2026, 3, 28, tzinfo=UTC),
        datetime(2026, 10, 24, tzinfo=UTC),
        datetime(2026, 4, 4, tzinfo=UTC),
    ):
        for minutes in range(0, 3 * 24 * 60, 7):
            moment = start + timedelta(minutes=minutes, seconds=minutes % 60, microseconds=1)
            stored = moment.replace(tzinfo=None).isoformat(" ")
            assert from_text(stored) == from_datetime(moment), stored


def test_log_line():
    log = TransactionLog(
        when=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), log_type="ipnfailled", extra_data="x"
    )
    assert log_detail(log, LOCAL) == {
        "when": "2026-01-02 04:04:05+01:00",
        "extra_data": "x",
        "log_type": "ipnfailled",
        "log_type_text": "IPN Failled",
    }
    row = SimpleNamespace(**dict.fromkeys(LOG_COLUMNS, None))
    row.log_type = "somethingNew"
    assert log_detail(row, LOCAL) == {
        "when": "",
        "extra_data": "",
        "log_type": "somethingNew",
        "log_type_text": "somethingNew",
    }

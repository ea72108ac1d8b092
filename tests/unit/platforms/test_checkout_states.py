"""PROTOCOL §11's table, row by row: Checkout's transaction (as the SDK reads it) → websites' codes."""

import pytest
from postfinancecheckout.models import Transaction

from polybanking.platforms.checkout.platform import cents, report_of
from polybanking.platforms.checkout.states import SHOPPER_OK_STATUSES, STATES


def checkout_transaction(state: str, amount=5.5, refunded=0, currency="CHF", method="TWINT") -> Transaction:
    return Transaction.from_dict(
        {
            "id": 4242,
            "state": state,
            "merchantReference": "polybanking-7",
            "currency": currency,
            "authorizationAmount": amount,
            "refundedAmount": refunded,
            "paymentConnectorConfiguration": {"name": method, "paymentMethodConfiguration": {"name": method}},
        }
    )


@pytest.mark.parametrize(
    ("state", "status", "good"),
    [
        ("PROCESSING", "51", False),
        ("AUTHORIZED", "5", True),
        ("COMPLETED", "91", False),
        ("FULFILL", "9", True),
        ("FAILED", "2", False),
        ("DECLINE", "93", False),
        ("VOIDED", "6", False),
    ],
)
def test_each_state_is_shown_as_its_epayment_code(state, status, good):
    report = report_of(checkout_transaction(state))
    assert report.status == status and (status in ("5", "9")) == good
    assert (report.order_id, report.pay_id, report.brand) == ("polybanking-7", "4242", "TWINT")
    assert (report.amount_cents, report.currency) == (550, "CHF")


@pytest.mark.parametrize("state", ["CREATE", "PENDING", "CONFIRMED"])
def test_no_answer_yet_leaves_the_status_unknown(state):
    assert report_of(checkout_transaction(state)) is None


@pytest.mark.parametrize("state", ["COMPLETED", "FULFILL"])
def test_refunds_adding_up_to_the_whole_amount_are_8(state):
    assert report_of(checkout_transaction(state, amount=5.5, refunded=5.5)).status == "8"
    assert report_of(checkout_transaction(state, amount=5.5, refunded=2)).status == STATES[state].status


def test_ranks_never_let_a_waiting_state_follow_a_final_one():
    rank = {state: shown.rank for state, shown in STATES.items()}
    assert rank["PROCESSING"] < rank["AUTHORIZED"] < rank["COMPLETED"] < rank["FULFILL"]
    assert rank["AUTHORIZED"] < rank["VOIDED"] and rank["PROCESSING"] < rank["FAILED"]
    assert report_of(checkout_transaction("FULFILL", refunded=5.5)).pay_id_sub > rank["FULFILL"]


def test_the_shopper_goes_to_the_ok_page_after_authorized_completed_fulfill():
    assert {"5", "91", "9"} == SHOPPER_OK_STATUSES


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(5.5, 550), (12, 1200), (0.1, 10), (1234567.89, 123456789), (0.001, None), (None, None)],
)
def test_amounts_are_whole_cents_or_nothing(amount, expected):
    assert cents(amount) == expected

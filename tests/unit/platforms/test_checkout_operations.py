"""Checkout's refunds, completions and voids read into the answer every platform gives (PROTOCOL §11)."""

import pytest
from postfinancecheckout.models import Refund, Transaction, TransactionCompletion, TransactionVoid

from polybanking.platforms import ACCEPTED, PENDING, REFUSED, OperationOrder, PlatformUnavailable
from polybanking.platforms.checkout.operations import answer_of, operation_report, refund_report
from polybanking.platforms.checkout.platform import CheckoutPlatform


@pytest.mark.parametrize(
    ("state", "outcome", "status"),
    [
        ("CREATE", PENDING, "81"),
        ("SCHEDULED", PENDING, "81"),
        ("PENDING", PENDING, "81"),
        ("MANUAL_CHECK", PENDING, "81"),
        ("SUCCESSFUL", ACCEPTED, "8"),
        ("FAILED", REFUSED, "83"),
    ],
)
def test_every_refund_state(state, outcome, status):
    answer = answer_of("refund", Refund(id=17, state=state))
    assert (answer.outcome, answer.status, answer.platform_id, answer.sequence) == (
        outcome,
        status,
        "17",
        None,
    )


@pytest.mark.parametrize(
    ("model", "kind", "state", "outcome", "status"),
    [
        (TransactionCompletion, "capture", "SCHEDULED", PENDING, "91"),
        (TransactionCompletion, "capture", "SUCCESSFUL", ACCEPTED, "9"),
        (TransactionCompletion, "capture", "FAILED", REFUSED, "93"),
        (TransactionVoid, "cancel", "PENDING", PENDING, "61"),
        (TransactionVoid, "cancel", "SUCCESSFUL", ACCEPTED, "6"),
        (TransactionVoid, "cancel", "FAILED", REFUSED, "63"),
    ],
)
def test_completions_and_voids(model, kind, state, outcome, status):
    answer = answer_of(kind, model(id=5, state=state))
    assert (answer.outcome, answer.status) == (outcome, status)
    assert (answer.message != "") == (outcome == REFUSED)


@pytest.mark.parametrize(
    ("kind", "entity_state", "transaction_state", "outcome", "status"),
    [
        ("capture", "SUCCESSFUL", "FULFILL", ACCEPTED, "9"),
        ("capture", "SUCCESSFUL", "COMPLETED", None, None),  # risk checks still running
        ("capture", "SUCCESSFUL", "DECLINE", REFUSED, "93"),
        ("capture", "PENDING", "AUTHORIZED", None, None),
        ("capture", "FAILED", "AUTHORIZED", REFUSED, "5"),  # authorised again
        ("capture", None, "AUTHORIZED", None, None),  # its answer never came: unknown
        ("capture", None, "DECLINE", REFUSED, "93"),
        ("capture", "PENDING", "VOIDED", REFUSED, "6"),  # voided in Checkout's back office
        ("cancel", "SUCCESSFUL", "VOIDED", ACCEPTED, "6"),
        ("cancel", "PENDING", "AUTHORIZED", None, None),
        ("cancel", "FAILED", "AUTHORIZED", REFUSED, "5"),
        ("cancel", "PENDING", "FULFILL", REFUSED, "9"),  # captured instead
    ],
)
def test_a_pending_capture_or_cancel_read_with_its_transaction(
    kind, entity_state, transaction_state, outcome, status
):
    """Done or refused as the completion (void) and the transaction together say; the status
    is the transaction's (PROTOCOL §11), the report names our reference."""
    model = TransactionCompletion if kind == "capture" else TransactionVoid
    entity = None if entity_state is None else model(id=5, state=entity_state, linked_transaction=9)
    payment = Transaction(id=9, state=transaction_state, authorization_amount=20.0, currency="CHF")
    report = operation_report(kind, entity, payment, "12-4")
    if outcome is None:
        assert report is None
    else:
        assert (report.operation_outcome, report.status, report.pay_id, report.operation_reference) == (
            outcome,
            status,
            "9",
            "12-4",
        )
        assert (report.operation_message != "") == (outcome == REFUSED)
    other = model(id=5, state="FAILED", linked_transaction=10)  # another payment's: says nothing
    assert operation_report(kind, other, payment.model_copy(update={"state": "AUTHORIZED"}), "12-4") is None


def test_an_answer_without_an_id_is_no_answer():
    with pytest.raises(PlatformUnavailable):
        answer_of("refund", Refund(state="SUCCESSFUL"))


def test_a_refund_read_back_names_our_reference_and_the_payments_amount():
    paid = Transaction(id=9, state="FULFILL", authorization_amount=20.0, refunded_amount=5.0, currency="CHF")
    report = refund_report(Refund(id=3, state="SUCCESSFUL", amount=5.0, external_id="12-4", transaction=paid))
    assert (report.pay_id, report.status, report.amount_cents, report.operation_reference) == (
        "9",
        "8",
        2000,
        "12-4",
    )
    whole = paid.model_copy(update={"refunded_amount": 20.0})
    assert (
        refund_report(Refund(id=3, state="PENDING", transaction=whole)).pay_id_sub == 5
    )  # ranked as refunded
    assert refund_report(Refund(id=3, state="FAILED")) is None  # no transaction named


def test_checkout_out_of_reach_is_unavailable():
    platform = CheckoutPlatform(
        space_id=1,
        user_id=2,
        authentication_key="c2FuZGJveC1jaGVja291dC10ZXN0LWFwcGxpY2F0aW9uLXVzZXIta2V5IQ==",
        api_url="http://127.0.0.1:9/api/v2.0",
        timeout=2,
    )
    for kind in ("refund", "capture", "cancel"):
        with pytest.raises(PlatformUnavailable):
            platform.operate(OperationOrder(kind, "pb-1", "77", 100, final=True, reference="1-1"))
    with pytest.raises(PlatformUnavailable):
        platform.operate(OperationOrder("refund", "pb-1", "", 100, final=True, reference="1-1"))

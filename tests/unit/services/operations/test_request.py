"""Asking for an operation: the checks, the idempotency key, the money reserved in the database."""

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from polybanking.models import Config, Operation, Transaction, TransactionLog
from polybanking.services.operations.errors import OperationRefused
from polybanking.services.operations.request import parse_amount, refundable, request_operation


@pytest.fixture
def paid(dbsession):
    config = Config(name="Shop")
    transaction = Transaction(
        config=config, reference="r-1", amount=1000, postfinance_status="9", postfinance_id="7"
    )
    dbsession.add(transaction)
    dbsession.flush()
    return transaction


def ask(dbsession, transaction, amount, key="k-1", kind="refund"):
    return request_operation(
        dbsession,
        transaction,
        kind,
        amount,
        idempotency_key=key,
        requested_by="user:alice",
        reason="out of stock",
    )


def test_a_refund_is_a_row_written_before_the_platform_is_asked(dbsession, paid):
    requested = ask(dbsession, paid, 300)
    operation = requested.operation
    assert requested.created
    assert (operation.kind, operation.amount, operation.state, operation.sent) == (
        "refund",
        300,
        "pending",
        False,
    )
    assert (operation.requested_by, operation.reason) == ("user:alice", "out of stock")
    assert (paid.refund_reserved, paid.refunded_amount, refundable(paid)) == (300, 0, 700)
    logs = dbsession.scalars(
        select(TransactionLog.extra_data).where(TransactionLog.log_type == "operationRequested")
    )
    assert list(logs) == [f"refund #{operation.id} of 3.00 CHF by user:alice: out of stock"]


def test_the_same_key_again_is_the_same_refund_and_reserves_nothing_more(dbsession, paid):
    first = ask(dbsession, paid, 300).operation
    again = ask(dbsession, paid, 300)
    assert (again.operation.id, again.created) == (first.id, False)
    assert ask(dbsession, paid, None).operation.id == first.id  # "the rest" of a replay: the same one
    assert paid.refund_reserved == 300
    with pytest.raises(OperationRefused) as other_amount:
        ask(dbsession, paid, 400)
    assert other_amount.value.http_status == 409
    assert dbsession.scalar(select(Operation.id).where(Operation.amount == 400)) is None


def test_never_more_than_was_paid_in_total(dbsession, paid):
    ask(dbsession, paid, 600, key="a")
    with pytest.raises(OperationRefused, match="more than is left") as refused:
        ask(dbsession, paid, 401, key="b")
    assert refused.value.http_status == 409
    rest = ask(dbsession, paid, None, key="c").operation
    assert rest.amount == 400 and paid.refund_reserved == 1000
    with pytest.raises(OperationRefused, match="nothing is left"):
        ask(dbsession, paid, 1, key="d")


def test_the_database_refuses_more_refunded_than_paid_whatever_the_code(dbsession, paid):
    with pytest.raises(IntegrityError), dbsession.begin_nested():
        dbsession.execute(update(Transaction).where(Transaction.id == paid.id).values(refund_reserved=1001))


def test_the_database_refuses_a_second_use_of_a_key(dbsession, paid):
    ask(dbsession, paid, 100)
    with pytest.raises(IntegrityError), dbsession.begin_nested():
        dbsession.add(
            Operation(transaction=paid, kind="refund", amount=1, idempotency_key="k-1", requested_by="x")
        )
        dbsession.flush()


@pytest.mark.parametrize("status", [None, "5", "2", "8", "92"])
def test_only_a_paid_transaction_is_refunded(dbsession, paid, status):
    paid.postfinance_status = status
    with pytest.raises(OperationRefused, match="not paid") as refused:
        ask(dbsession, paid, 100)
    assert refused.value.http_status == 409
    assert paid.refund_reserved == 0


def test_capture_and_cancel_take_an_authorised_payment_once_and_whole(dbsession, paid):
    paid.postfinance_status = "5"
    with pytest.raises(OperationRefused, match="whole amount"):
        ask(dbsession, paid, 100, kind="capture")
    capture = ask(dbsession, paid, None, kind="capture").operation
    assert capture.amount == 1000 and paid.refund_reserved == 0
    with pytest.raises(OperationRefused, match="asked already") as twice:
        ask(dbsession, paid, None, key="k-2", kind="cancel")
    assert twice.value.http_status == 409


@pytest.mark.parametrize("key", ["", "x" * 65, "tab\there"])
def test_a_key_is_required_and_bounded(dbsession, paid, key):
    with pytest.raises(OperationRefused) as refused:
        ask(dbsession, paid, 100, key=key)
    assert refused.value.http_status == 400


@pytest.mark.parametrize("raw", ["0", "-5", "1.5", "1e3", " 5", "١", "9" * 13])
def test_malformed_amounts(raw):
    with pytest.raises(OperationRefused) as refused:
        parse_amount(raw)
    assert refused.value.http_status == 400


def test_amounts():
    assert (parse_amount(None), parse_amount(""), parse_amount("0500")) == (None, None, 500)

"""A report naming an operation by our reference settles that operation and no other."""

import pytest

from polybanking.models import Config, Transaction
from polybanking.platforms import StatusReport
from polybanking.services.operations.request import request_operation
from polybanking.services.operations.settle import settle_report


@pytest.fixture
def two_pending(dbsession):
    transaction = Transaction(
        config=Config(name="Shop", platform="checkout"),
        reference="r-1",
        amount=1000,
        postfinance_status="9",
        postfinance_id="7",
        postfinance_id_sub=4,
    )
    dbsession.add(transaction)
    dbsession.flush()
    operations = [
        request_operation(
            dbsession, transaction, "refund", 300, idempotency_key=key, requested_by="cli"
        ).operation
        for key in ("a", "b")
    ]
    for operation in operations:
        operation.sent = True
    return transaction, operations


def report(status: str, reference: str) -> StatusReport:
    return StatusReport("pb-1", "7", 4, status, "10.0", 1000, "CHF", "", "", operation_reference=reference)


def test_the_named_refund_is_settled_not_the_oldest(dbsession, two_pending):
    transaction, (first, second) = two_pending
    settled = settle_report(dbsession, transaction, report("8", second.reference))
    assert settled.operation is second and settled.hold  # partly refunded: the status stays
    assert (first.state, second.state, transaction.refunded_amount) == ("pending", "done", 300)


def test_a_reference_of_no_pending_operation_settles_nothing(dbsession, two_pending):
    transaction, (first, second) = two_pending
    assert settle_report(dbsession, transaction, report("83", "elsewhere-1")).operation is None
    assert (first.state, second.state, transaction.refund_reserved) == ("pending", "pending", 600)

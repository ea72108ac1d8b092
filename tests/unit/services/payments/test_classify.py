"""PROTOCOL §5: which reports move a transaction (``new``), repeat it (``duplicate``) or are ``stale``.

Plain objects, no database: ``classify`` only reads the transaction's status, PAYID and PAYIDSUB.
"""

import pytest

from polybanking.models import Transaction
from polybanking.platforms.epayment.feedback import Feedback
from polybanking.services.payments.apply import classify

A, B = "3000000001", "3000000002"


def transaction(status: str | None, payid: str | None = None, payidsub: int | None = None) -> Transaction:
    return Transaction(
        reference="order-1",
        amount=550,
        postfinance_status=status,
        postfinance_id=payid,
        postfinance_id_sub=payidsub,
    )


def report(status: str, payid: str = A, payidsub: int = 0) -> Feedback:
    return Feedback(
        order_id="polybanking-1",
        pay_id=payid,
        pay_id_sub=payidsub,
        status=status,
        amount_raw="5.5",
        amount_cents=550,
        currency="CHF",
        brand="VISA",
        card="XXXXXXXXXXXX1111",
        nc_error="0",
    )


@pytest.mark.parametrize("status", ["0", "1", "2", "5", "9", "41", "51", "91", "92", "42"])
@pytest.mark.parametrize("payid", [A, ""])
def test_first_report_is_always_new(status, payid):
    assert classify(transaction(None), report(status, payid)) == "new"
    assert classify(transaction(None, A, 3), report(status, payid, 0)) == "new"


# (current status, PAYID, PAYIDSUB) × (report status, PAYID, PAYIDSUB) → verdict
MATRIX = [
    # The same report again, by either channel.
    (("9", A, 0), ("9", A, 0), "duplicate"),
    (("5", A, 0), ("5", A, 0), "duplicate"),
    (("2", A, 0), ("2", A, 0), "duplicate"),
    (("92", A, 0), ("92", A, 0), "duplicate"),
    (("9", A, 1), ("9", A, 1), "duplicate"),
    (("1", None, None), ("1", "", 0), "duplicate"),
    # Later operations without PAYIDSUB (not in PostFinance's default feedback parameters):
    # a refund or cancellation after payment is news; the payment reported again afterwards is not.
    (("9", A, 0), ("8", A, 0), "new"),
    (("9", A, 0), ("81", A, 0), "new"),
    (("81", A, 0), ("8", A, 0), "new"),
    (("8", A, 0), ("81", A, 0), "stale"),
    (("8", A, 0), ("9", A, 0), "stale"),
    (("5", A, 0), ("6", A, 0), "new"),
    (("6", A, 0), ("5", A, 0), "stale"),
    (("9", A, 0), ("74", A, 0), "new"),
    # Forward within one step: waiting → decided, authorised → paid.
    (("5", A, 0), ("9", A, 0), "new"),
    (("51", A, 0), ("5", A, 0), "new"),
    (("91", A, 0), ("9", A, 0), "new"),
    (("91", A, 0), ("2", A, 0), "new"),
    (("41", A, 0), ("9", A, 0), "new"),
    (("92", A, 0), ("9", A, 0), "new"),
    (("92", A, 0), ("93", A, 0), "new"),
    (("91", A, 0), ("92", A, 0), "new"),
    (("2", A, 0), ("5", A, 0), "new"),
    (("1", None, None), ("9", A, 0), "new"),
    # A later operation (growing PAYIDSUB) moves on whatever its status.
    (("5", A, 0), ("9", A, 1), "new"),
    (("9", A, 1), ("8", A, 2), "new"),
    (("9", A, 1), ("81", A, 2), "new"),
    (("9", A, 1), ("7", A, 2), "new"),
    (("81", A, 2), ("8", A, 2), "new"),
    (("9", None, 0), ("9", A, 1), "duplicate"),
    (("5", A, 0), ("5", A, 1), "duplicate"),
    # Stale: an older operation (lower PAYIDSUB) never moves the transaction back.
    (("9", A, 1), ("5", A, 0), "stale"),
    (("9", A, 1), ("9", A, 0), "stale"),
    (("8", A, 2), ("9", A, 1), "stale"),
    (("8", A, 2), ("8", A, 1), "stale"),
    (("8", A, 2), ("91", A, 0), "stale"),
    # Stale: a pending status after a final one at the same PAYIDSUB.
    (("9", A, 0), ("91", A, 0), "stale"),
    (("9", A, 0), ("51", A, 0), "stale"),
    (("5", A, 0), ("51", A, 0), "stale"),
    (("9", A, 0), ("92", A, 0), "stale"),
    (("9", A, 0), ("99", A, 0), "stale"),
    (("2", A, 0), ("91", A, 0), "stale"),
    (("2", A, 0), ("41", A, 0), "stale"),
    (("9", A, 1), ("91", A, 1), "stale"),
    # Stale: going backwards within one step (paid → authorised/refused, authorised → refused).
    (("9", A, 0), ("5", A, 0), "stale"),
    (("9", A, 0), ("2", A, 0), "stale"),
    (("9", A, 0), ("1", A, 0), "stale"),
    (("5", A, 0), ("2", A, 0), "stale"),
    (("9", A, 0), ("42", A, 0), "stale"),  # unknown code: never replaces a good one
    # Another payment attempt (another PAYID): ordered by how far it went.
    (("2", A, 0), ("9", B, 0), "new"),
    (("1", A, 0), ("5", B, 0), "new"),
    (("2", A, 0), ("2", B, 0), "duplicate"),
    (("9", B, 0), ("2", A, 0), "stale"),
    (("9", B, 0), ("91", A, 0), "stale"),
    (("9", A, 3), ("2", B, 0), "stale"),
    (("9", A, 0), ("2", "", 0), "stale"),
    # Unknown codes are not errors.
    (("42", A, 0), ("9", A, 0), "new"),
    (("42", A, 0), ("42", A, 0), "duplicate"),
]


@pytest.mark.parametrize(("current", "incoming", "verdict"), MATRIX)
def test_classify_matrix(current, incoming, verdict):
    assert classify(transaction(*current), report(*incoming)) == verdict


@pytest.mark.parametrize(("current", "incoming", "_verdict"), MATRIX)
def test_classify_reads_and_changes_nothing(current, incoming, _verdict):
    t = transaction(*current)
    r = report(*incoming)
    classify(t, r)
    assert (t.postfinance_status, t.postfinance_id, t.postfinance_id_sub) == current


FINAL_GOOD = ["5", "9"]
PENDING = ["4", "40", "41", "46", "50", "51", "52", "55", "59", "91", "92", "99"]


@pytest.mark.parametrize("final", FINAL_GOOD)
@pytest.mark.parametrize("pending", PENDING)
def test_no_pending_report_replaces_a_good_status_at_the_same_payidsub(final, pending):
    assert classify(transaction(final, A, 1), report(pending, A, 1)) == "stale"


@pytest.mark.parametrize("pending", PENDING)
@pytest.mark.parametrize("final", ["2", "5", "9", "93"])
def test_a_decision_replaces_a_pending_status(pending, final):
    assert classify(transaction(pending, A, 0), report(final, A, 0)) == "new"


@pytest.mark.parametrize("status", ["1", "2", "5", "9", "91"])
@pytest.mark.parametrize("lower", [0, 1, 2])
def test_any_lower_payidsub_of_the_same_payment_is_stale(status, lower):
    assert classify(transaction("8", A, 3), report(status, A, lower)) == "stale"

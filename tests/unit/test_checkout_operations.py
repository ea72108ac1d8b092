"""A Checkout refund's answer is ours only if it is a refund of our transaction (its externalId may
have been used before in the space, by another database or before a restore)."""

import pytest
from postfinancecheckout.models import Refund, RefundState, Transaction

from polybanking.platforms import REFUND, OperationOrder, PlatformUnavailable
from polybanking.platforms.checkout.operations import operate


class Space:
    """What ``operate`` needs of a CheckoutPlatform, answering as Checkout did: with ``refund``."""

    space_id = 7

    def __init__(self, refund: Refund):
        self.refund = refund

    def call(self, service_class, method, *args, **kwargs):
        assert method == "post_payment_refunds"
        return self.refund

    def read(self, platform_id):
        raise AssertionError("a refund reads nothing more")


ORDER = OperationOrder(
    kind=REFUND, order_id="polybanking-5", payment_id="4001", amount_cents=500, final=False, reference="5-3"
)


def refund_of(transaction_id: int) -> Refund:
    return Refund(
        id=91, state=RefundState.SUCCESSFUL, transaction=Transaction(id=transaction_id), external_id="5-3"
    )


def test_a_refund_of_our_transaction_is_our_answer():
    answer = operate(Space(refund_of(4001)), ORDER)
    assert (answer.outcome, answer.status, answer.platform_id) == ("accepted", "8", "91")


def test_a_refund_of_another_transaction_is_no_answer_of_ours():
    with pytest.raises(PlatformUnavailable, match="refund 91 of transaction 3999, not of 4001"):
        operate(Space(refund_of(3999)), ORDER)

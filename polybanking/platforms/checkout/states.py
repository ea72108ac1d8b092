"""Checkout's transaction states as websites see them: PROTOCOL §11's table, in one place.

Each state also has a rank along a payment's life, which ``apply_report`` receives as the
report's ``pay_id_sub`` (the number that makes an older report stale): a late PROCESSING webhook
never moves a FULFILL payment back.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    status: str  # the e-payment code websites read (PROTOCOL §5)
    rank: int


#: CREATE, PENDING and CONFIRMED are not here: no answer yet, the status stays ``??``.
STATES = {
    "PROCESSING": Shown("51", 1),
    "AUTHORIZED": Shown("5", 2),
    "COMPLETED": Shown("91", 3),  # captured, risk checks still running
    "FULFILL": Shown("9", 4),  # the merchant may deliver
    "FAILED": Shown("2", 4),
    "DECLINE": Shown("93", 4),
    "VOIDED": Shown("6", 4),
}
#: Successful refunds adding up to the whole amount.
REFUNDED = Shown("8", 5)
#: States after which the shopper is sent to ``url_back_ok``.
SHOPPER_OK = frozenset({"AUTHORIZED", "COMPLETED", "FULFILL"})
SHOPPER_OK_STATUSES = frozenset(STATES[state].status for state in SHOPPER_OK)
#: Codes of states Checkout settles later (a lost webhook would leave them so): asked again.
UNSETTLED_STATUSES = frozenset({STATES["PROCESSING"].status, STATES["COMPLETED"].status})
#: States with which the payment page can still be used.
WAITING = frozenset({"CREATE", "PENDING", "CONFIRMED"})


def shown(state: str, refunded_whole: bool = False) -> Shown | None:
    """What websites are shown for ``state``; None while Checkout has no answer yet."""
    if refunded_whole and state in ("COMPLETED", "FULFILL"):
        return REFUNDED
    return STATES.get(state)

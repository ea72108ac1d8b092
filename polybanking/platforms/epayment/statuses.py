"""PostFinance payment status codes (PROTOCOL §5): their names, which are good, which are final.

The names are the original PolyBanking's, spelling included ("Authorized waiting external result",
"Authoris. to be requested manually"): the API returns them and existing websites show them.
"""

STATUS_TEXT: dict[str, str] = {
    "0": "Invalid or incomplete",
    "1": "Cancelled by customer",
    "2": "Authorisation declined",
    "4": "Order stored",
    "40": "Stored waiting external result",
    "41": "Waiting for client payment",
    "46": "Waiting authentication",
    "5": "Authorised",
    "50": "Authorized waiting external result",
    "51": "Authorisation waiting",
    "52": "Authorisation not known",
    "55": "Standby",
    "56": "OK with scheduled payments",
    "57": "Not OK with scheduled payments",
    "59": "Authoris. to be requested manually",
    "6": "Authorised and cancelled",
    "61": "Author. deletion waiting",
    "62": "Author. deletion uncertain",
    "63": "Author. deletion refused",
    "64": "Authorised and cancelled",
    "7": "Payment deleted",
    "71": "Payment deletion pending",
    "72": "Payment deletion uncertain",
    "73": "Payment deletion refused",
    "74": "Payment deleted",
    "75": "Deletion handled by merchant",
    "8": "Refund",
    "81": "Refund pending",
    "82": "Refund uncertain",
    "83": "Refund refused",
    "84": "Refund",
    "85": "Refund handled by merchant",
    "9": "Payment requested",
    "91": "Payment processing",
    "92": "Payment uncertain",
    "93": "Payment refused",
    "94": "Refund declined by the acquirer",
    "95": "Payment handled by merchant",
    "96": "Refund reversed",
    "99": "Being processed",
}

GOOD_STATUSES = frozenset({"5", "9"})

#: Statuses that PostFinance may still replace within the same PAYID/PAYIDSUB (waiting, uncertain,
#: processing). A report carrying one of these never overrides a final status of the same step.
PENDING_STATUSES = frozenset("4 40 41 46 50 51 52 55 59 61 62 71 72 81 82 91 92 99".split())

#: Operations on a payment already made (cancellation, deletion, refund): they come after 5 or 9,
#: so they win over them even when PostFinance's feedback carries no PAYIDSUB.
AFTER_PAYMENT_STATUSES = frozenset("6 61 62 63 64 7 71 72 73 74 75 8 81 82 83 84 85 94 96".split())

#: Uncertain outcomes worth asking PostFinance about again.
UNCERTAIN_STATUSES = frozenset({"52", "92"})


def status_text(code: str | None) -> str:
    """Human name of a status code; unknown codes are shown, never an error."""
    if code is None or code == "":
        return ""
    return STATUS_TEXT.get(code, f"Unknown ({code})")


def is_good(code: str | None) -> bool:
    """Whether a website should treat the payment as made (authorised or paid)."""
    return code in GOOD_STATUSES


def is_pending(code: str | None) -> bool:
    return code in PENDING_STATUSES


def is_valid_code(code: str) -> bool:
    """A status as PostFinance writes it: one or two digits."""
    return code.isascii() and code.isdigit() and 1 <= len(code) <= 2


#: What an operation on a payment leaves it in (PROTOCOL §10), per kind (refund, capture, cancel):
#: done, still pending, refused. These are the codes websites read whatever the platform (§11).
OPERATION_DONE = {
    "refund": frozenset({"8", "84", "85"}),
    "capture": frozenset({"9"}),
    "cancel": frozenset({"6", "64"}),
}
OPERATION_PENDING = {
    "refund": frozenset({"81", "82"}),
    "capture": frozenset({"91"}),
    "cancel": frozenset({"61", "62"}),
}
OPERATION_REFUSED = {
    "refund": frozenset({"83", "94"}),
    "capture": frozenset({"93"}),
    "cancel": frozenset({"63"}),
}


def operation_outcome(kind: str, code: str) -> str | None:
    """``done``, ``pending`` or ``refused`` for a status an operation of ``kind`` may leave, else None."""
    for outcome, table in (
        ("done", OPERATION_DONE),
        ("pending", OPERATION_PENDING),
        ("refused", OPERATION_REFUSED),
    ):
        if code in table[kind]:
            return outcome
    return None

"""The SHA-IN signed form that sends a shopper to PostFinance's hosted page (PROTOCOL §3)."""

from .sha import compute_sha

#: Transaction ids are INTEGER columns; PostgreSQL fails (rather than finds nothing) when a query
#: compares one with a larger number, and ORDERIDs arrive before any signature is checked.
MAX_TRANSACTION_ID = 2**31 - 1


def format_order_id(prefix: str, transaction_id: int) -> str:
    return f"{prefix}-{transaction_id}"


def parse_order_id(order_id: str, prefix: str) -> int | None:
    """The transaction id inside one of our ORDERIDs, or None when the order is not ours."""
    head, sep, tail = order_id.rpartition("-")
    if not sep or head != prefix or not (tail.isascii() and tail.isdigit()) or len(tail) > 10:
        return None
    number = int(tail)
    if not 1 <= number <= MAX_TRANSACTION_ID or tail != str(number):  # only what format_order_id writes
        return None
    return number


def payment_form(
    *,
    pspid: str,
    order_id: str,
    amount_cents: int,
    return_url: str,
    sha_in: str,
    algorithm: str,
    currency: str = "CHF",
    language: str | None = None,
) -> dict[str, str]:
    """Hidden fields of the hosted-page form, SHASIGN included."""
    fields = {
        "PSPID": pspid,
        "ORDERID": order_id,
        "AMOUNT": str(amount_cents),
        "CURRENCY": currency,
        "ACCEPTURL": return_url,
        "DECLINEURL": return_url,
        "EXCEPTIONURL": return_url,
        "CANCELURL": return_url,
    }
    if language:
        fields["LANGUAGE"] = language
    fields["SHASIGN"] = compute_sha(fields, sha_in, algorithm)
    return fields

"""The SHA-IN signed form that sends a shopper to PostFinance's hosted page (PROTOCOL §3)."""

from .sha import compute_sha


def format_order_id(prefix: str, transaction_id: int) -> str:
    return f"{prefix}-{transaction_id}"


def parse_order_id(order_id: str, prefix: str) -> int | None:
    """The transaction id inside one of our ORDERIDs, or None when the order is not ours."""
    head, sep, tail = order_id.rpartition("-")
    if not sep or head != prefix or not (tail.isascii() and tail.isdigit()) or len(tail) > 18:
        return None
    return int(tail)


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

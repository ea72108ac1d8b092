"""Reading PostFinance's feedback (PROTOCOL §5): what it says, and whether it is really PostFinance's."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .. import StatusReport
from .sha import check_sha
from .statuses import is_valid_code

MAX_VALUE_LENGTH = 512
#: Fields that are kept: PostFinance's own maxima are far below these (PAYID has about 10 digits,
#: BRAND and CARDNO about 25); a longer value is junk, and would not fit the transactions table.
FIELD_MAX_LENGTH = {"PAYID": 32, "BRAND": 64, "CARDNO": 64}


class FeedbackError(ValueError):
    """The feedback cannot be read; the message says which field and why."""


@dataclass(frozen=True)
class Feedback(StatusReport):
    """PostFinance's feedback: a status report, and NCERROR."""

    nc_error: str


def normalise(params: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Upper-case the names (PostFinance mixes cases: ``orderID``, ``amount``); the first value wins."""
    result: dict[str, str] = {}
    for name, value in params:
        result.setdefault(name.upper(), value)
    return result


def verify(params: Mapping[str, str], passphrase: str, algorithm: str, allowed: Iterable[str]) -> bool:
    """SHA-OUT check over the parameters on PostFinance's list only, values as received."""
    return check_sha(params, params.get("SHASIGN"), passphrase, algorithm, allowed)


#: How PostFinance writes amounts (francs, optional decimals). Decimal() alone would also take
#: ``1e3``, ``1_000``, ``+15``, `` 15`` and non-ASCII digits, none of which PostFinance sends.
AMOUNT_PATTERN = re.compile(r"[0-9]{1,15}(\.[0-9]{1,4})?")


def amount_to_cents(raw: str) -> int | None:
    """``15`` / ``15.5`` / ``15.00`` → cents; None when it is no amount in cents."""
    if not AMOUNT_PATTERN.fullmatch(raw):
        return None
    try:
        value = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    cents = value * 100
    if cents != cents.to_integral_value():
        return None
    return int(cents)


def parse(params: Mapping[str, str]) -> Feedback:
    """Structure of an (already normalised) feedback; raises FeedbackError on junk."""
    for name, value in params.items():
        if len(value) > MAX_VALUE_LENGTH:
            raise FeedbackError(f"{name} is too long")
    for name, limit in FIELD_MAX_LENGTH.items():
        if len(params.get(name, "")) > limit:
            raise FeedbackError(f"{name} is too long")
    order_id = params.get("ORDERID", "")
    if not order_id:
        raise FeedbackError("ORDERID is missing")
    status = params.get("STATUS", "")
    if not is_valid_code(status):
        raise FeedbackError("STATUS is missing or not a status code")
    pay_id = params.get("PAYID", "")
    if pay_id and not (pay_id.isascii() and pay_id.isdigit()):
        raise FeedbackError("PAYID is not a number")
    sub_raw = params.get("PAYIDSUB", "") or "0"
    if not (sub_raw.isascii() and sub_raw.isdigit()) or len(sub_raw) > 9:
        raise FeedbackError("PAYIDSUB is not a number")
    amount_raw = params.get("AMOUNT", "")
    return Feedback(
        order_id=order_id,
        pay_id=pay_id,
        pay_id_sub=int(sub_raw),
        status=status,
        amount_raw=amount_raw,
        amount_cents=amount_to_cents(amount_raw) if amount_raw else None,
        currency=params.get("CURRENCY", ""),
        brand=params.get("BRAND", ""),
        card=params.get("CARDNO", ""),
        nc_error=params.get("NCERROR", ""),
    )

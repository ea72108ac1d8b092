"""What the sandbox sends back: PostFinance's feedback parameters, signed with SHA-OUT."""

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from ...platforms.epayment.sha import DEFAULT_SHA_OUT_KEYS, compute_sha
from ...settings import PostFinanceEnvironment

#: Outcome buttons of the hosted page → (STATUS, NCERROR, which return URL).
OUTCOMES = {
    "pay": ("9", "0", "ACCEPTURL"),
    "authorise": ("5", "0", "ACCEPTURL"),
    "decline": ("2", "30001001", "DECLINEURL"),
    "cancel": ("1", "0", "CANCELURL"),
    "uncertain": ("92", "20001111", "EXCEPTIONURL"),
}


def format_amount(cents: int) -> str:
    """PostFinance writes amounts in francs without trailing zeros: ``25``, ``12.5``, ``0.05``."""
    francs, rest = divmod(cents, 100)
    if rest == 0:
        return str(francs)
    return f"{francs}.{rest:02d}".rstrip("0")


def new_pay_id() -> str:
    return str(3_000_000_000 + secrets.randbelow(999_999_999))


def feedback_params(
    form: dict[str, str],
    outcome: str,
    env: PostFinanceEnvironment,
    algorithm: str,
    pay_id: str,
    client_ip: str = "127.0.0.1",
    sha_out_keys: Iterable[str] = DEFAULT_SHA_OUT_KEYS,
) -> dict[str, str]:
    """The parameters PostFinance sends for ``outcome`` of the order in ``form``, SHASIGN included.

    Signed over ``sha_out_keys``, the account's SHA-OUT list as the gateway is configured with it.
    """
    status, nc_error, _url = OUTCOMES[outcome]
    paid = status in ("5", "9")
    params = {
        "orderID": form["ORDERID"],
        "currency": form["CURRENCY"],
        "amount": format_amount(int(form["AMOUNT"])),
        "PM": "CreditCard",
        "ACCEPTANCE": "test123" if paid else "",
        "STATUS": status,
        "CARDNO": "XXXXXXXXXXXX1111" if outcome != "cancel" else "",
        "ED": "1229" if outcome != "cancel" else "",
        "CN": "Sandbox Shopper",
        "TRXDATE": datetime.now(UTC).strftime("%m/%d/%y"),
        "PAYID": pay_id,
        "PAYIDSUB": "0",
        "NCERROR": nc_error,
        "BRAND": "VISA" if outcome != "cancel" else "",
        "IP": client_ip,
    }
    params["SHASIGN"] = compute_sha(params, env.sha_out, algorithm, sha_out_keys)
    return params


def return_url(form: dict[str, str], outcome: str) -> str:
    return form.get(OUTCOMES[outcome][2], "")


def entry_params(
    entry,
    env: PostFinanceEnvironment,
    algorithm: str,
    sha_out_keys: Iterable[str] = DEFAULT_SHA_OUT_KEYS,
) -> dict[str, str]:
    """The post-sale PostFinance sends when a later operation changes a payment (ledger entry)."""
    params = {
        "orderID": entry.order_id,
        "currency": entry.currency,
        "amount": format_amount(entry.amount),
        "PM": "CreditCard",
        "ACCEPTANCE": "test123" if entry.status in ("5", "9") else "",
        "STATUS": entry.status,
        "CARDNO": entry.card,
        "PAYID": entry.pay_id,
        "PAYIDSUB": str(entry.pay_id_sub),
        "NCERROR": entry.nc_error,
        "BRAND": entry.brand,
    }
    params["SHASIGN"] = compute_sha(params, env.sha_out, algorithm, sha_out_keys)
    return params

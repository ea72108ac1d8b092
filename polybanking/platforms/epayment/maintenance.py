"""PostFinance DirectLink maintenance (PROTOCOL §10): refunds, captures and cancellations.

The request is signed with SHA-IN over every field sent (§4) and carries the account's API user;
the answer is the ``<ncresponse …/>`` of status queries (§9), read by the same code. Like the
status query, the password goes only to the configured ``maintenance_url`` and is never logged.
"""

from collections.abc import Mapping

from .. import ACCEPTED, CANCEL, CAPTURE, PENDING, REFUND, REFUSED, OperationAnswer
from .sha import compute_sha
from .statuses import OPERATION_DONE, OPERATION_PENDING

#: OPERATION codes: (more may follow, the last one) per kind.
OPERATION_CODES = {REFUND: ("RFD", "RFS"), CAPTURE: ("SAL", "SAS"), CANCEL: ("DEL", "DES")}
#: PostFinance's NCERROR for an operation it refuses (amount too high, wrong status…): any non-zero.
ACCEPTED_NCERROR = "0"


def operation_code(kind: str, final: bool) -> str:
    return OPERATION_CODES[kind][1 if final else 0]


def kind_of(code: str) -> str | None:
    """The kind an OPERATION code asks for, or None for an unknown code."""
    for kind, codes in OPERATION_CODES.items():
        if code in codes:
            return kind
    return None


def maintenance_fields(
    *,
    pspid: str,
    userid: str,
    password: str,
    pay_id: str,
    order_id: str,
    amount_cents: int,
    operation: str,
    sha_in: str,
    algorithm: str,
) -> dict[str, str]:
    """The signed form of ``maintenancedirect.asp``: PAYID when known, else ORDERID."""
    fields = {
        "PSPID": pspid,
        "USERID": userid,
        "PSWD": password,
        "AMOUNT": str(amount_cents),
        "OPERATION": operation,
    }
    if pay_id:
        fields["PAYID"] = pay_id
    else:
        fields["ORDERID"] = order_id
    fields["SHASIGN"] = compute_sha(fields, sha_in, algorithm)
    return fields


def read_answer(kind: str, values: Mapping[str, str]) -> OperationAnswer:
    """PostFinance's answer (names upper-cased) as a platform-neutral answer."""
    status = values.get("STATUS", "")
    sub = values.get("PAYIDSUB", "")
    sequence = int(sub) if sub.isascii() and sub.isdigit() and len(sub) <= 9 else None
    pay_id = values.get("PAYID", "")
    platform_id = f"{pay_id}/{sub}" if pay_id and sequence is not None else pay_id
    message = values.get("NCERRORPLUS", "")[:200]
    if values.get("NCERROR", "") != ACCEPTED_NCERROR:
        nc_error = values.get("NCERROR", "")[:20] or "none"
        return OperationAnswer(REFUSED, status, platform_id, sequence, f"NCERROR {nc_error}: {message}")
    if status in OPERATION_DONE[kind]:
        return OperationAnswer(ACCEPTED, status, platform_id, sequence)
    if status in OPERATION_PENDING[kind]:
        return OperationAnswer(PENDING, status, platform_id, sequence)
    return OperationAnswer(
        REFUSED, status, platform_id, sequence, f"status {status[:4] or 'none'}: {message}"
    )


def default_maintenance_url(query_url: str) -> str:
    """``maintenancedirect.asp`` beside ``querydirect.asp`` (PROTOCOL §10)."""
    if not query_url:
        return ""
    head, _sep, _tail = query_url.rpartition("querydirect.asp")
    return head + "maintenancedirect.asp" if _sep else ""

"""Checkout's transaction export (CSV), read into the lines e-payment's reports give, so that the
same comparison, commands and admin pages reconcile Checkout payments too.

The export (the back office's download, or ``GET /payment/transactions/export`` with ``fields``)
has one line per transaction; its columns are found by name. The API's export is asked for by the
API's field names (``merchantReference``, as the SDK's own tests ask for ``id``); how the back
office labels its columns is not documented where we looked, so the likely forms are read too
(``Merchant Reference``, ``Transaction ID``, ``Created On``…: ``ALIASES``), and a missing column is
named in both forms. Each line's state is mapped to websites' codes by ``states`` (the same table as
everywhere), and its rank is the line's ``pay_id_sub``.

A line's day is its ``createdOn`` in the organisation's time zone, as e-payment's back office writes
its dates: a payment at 23:30 UTC on 31 December is a 1 January payment in Zurich, and the
comparison takes the report's days as local days (``comparison.day_bounds``). Times without an
offset are Checkout's UTC; a bare date is already a local day.
"""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import BinaryIO
from zoneinfo import ZoneInfo

from ..epayment.report import ReportError, ReportInfo, ReportLine, detect_encoding
from .states import shown

FORMAT = "checkout"
#: The columns read (normalised names), and how the API names them.
FIELDS = {
    "id": "id",
    "merchantreference": "merchantReference",
    "state": "state",
    "authorizationamount": "authorizationAmount",
    "currency": "currency",
    "createdon": "createdOn",
}
OPTIONAL = {"refundedamount": "refundedAmount"}
#: Other headers (normalised) read as a column above: the back office's likely labels.
ALIASES = {
    "transactionid": "id",
    "merchantref": "merchantreference",
    "transactionstate": "state",
    "authorisationamount": "authorizationamount",
    "authorizedamount": "authorizationamount",
    "authorisedamount": "authorizationamount",
    "creationdate": "createdon",
    "createddate": "createdon",
    "created": "createdon",
}
#: How a column is named in an error: the API's name and the back office's likely label.
LABELS = {
    "id": "id (or Transaction ID)",
    "merchantreference": "merchantReference (or Merchant Reference)",
    "state": "state (or State)",
    "authorizationamount": "authorizationAmount (or Authorization Amount)",
    "currency": "currency (or Currency)",
    "createdon": "createdOn (or Created On)",
}
HEAD = 65536


def _normalised(name: str) -> str:
    return "".join(c for c in name.strip().lower() if c.isalnum())


def _header(line: str) -> list[str]:
    """The columns' names, normalised, each alias turned into the name it stands for."""
    delimiter = ";" if line.count(";") > line.count(",") else ","
    names = [_normalised(cell) for cell in next(csv.reader([line], delimiter=delimiter))]
    return [ALIASES.get(name, name) if ALIASES.get(name) not in names else name for name in names]


def is_export(stream: BinaryIO) -> bool:
    """Whether ``stream`` (binary, seekable) starts like a Checkout export: a header naming a
    merchant reference and a state (e-payment's reports say ``REF`` and ``STATUS``)."""
    head = stream.read(HEAD)
    stream.seek(0)
    text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    for line in text.splitlines()[:20]:
        if line.strip():
            names = set(_header(line))
            if {"merchantreference", "state"} <= names:
                return True
    return False


def _money(raw: str, line: int, column: str) -> Decimal:
    try:
        value = Decimal(raw.strip() or "0")
    except InvalidOperation:
        raise ReportError(f"{raw[:20]!r} is not an amount", line, column) from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise ReportError(f"{raw[:20]!r} is not an amount in cents", line, column)
    return value


def _day(raw: str, line: int, zone: ZoneInfo) -> date:
    """The local day of a ``createdOn`` (see the module's docstring)."""
    text = raw.strip().replace("Z", "+00:00")
    try:
        if "T" not in text and " " not in text:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{raw[:30]!r} is not a date", line, "createdOn") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def _read(number: int, values: dict[str, str], zone: ZoneInfo) -> ReportLine:
    checkout_id = values["id"].strip()
    if not (checkout_id.isascii() and checkout_id.isdigit()) or len(checkout_id) > 18:
        raise ReportError(f"{checkout_id[:20]!r} is not a transaction id", number, "id")
    amount = _money(values["authorizationamount"], number, "authorizationAmount")
    refunded = _money(values.get("refundedamount", ""), number, "refundedAmount")
    state = values["state"].strip().upper()
    mapped = shown(state, refunded_whole=amount > 0 and refunded >= amount)
    if mapped is None and state not in ("CREATE", "PENDING", "CONFIRMED"):
        raise ReportError(f"{state[:20]!r} is not a Checkout state", number, "state")
    currency = values["currency"].strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ReportError(f"{currency[:10]!r} is not a currency", number, "currency")
    return ReportLine(
        number,
        values["merchantreference"].strip(),
        checkout_id,
        mapped.rank if mapped else 0,
        mapped.status if mapped else "",
        int(amount * 100),
        currency,
        _day(values["createdon"], number, zone),
    )


def iter_export(stream: BinaryIO, timezone: str, info: ReportInfo | None = None) -> Iterator[ReportLine]:
    """Every line of the export, dated in ``timezone`` (``polybanking.timezone``, as e-payment's
    reports are); ReportError (naming line and column) on the first fault."""
    zone = ZoneInfo(timezone)
    info = info if info is not None else ReportInfo()
    info.file_format = FORMAT
    encoding = detect_encoding(stream)
    info.encoding = "UTF-8" if encoding == "utf-8-sig" else "ISO-8859-1"
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        columns: dict[str, int] | None = None
        reader = None
        header_at = 0
        for raw in text:
            header_at += 1
            if columns is None:
                if not raw.strip():
                    continue
                names = _header(raw)
                delimiter = ";" if raw.count(";") > raw.count(",") else ","
                missing = [LABELS[name] for name in FIELDS if name not in names]
                if missing:
                    raise ReportError("the header has no column " + ", no column ".join(missing), header_at)
                columns = {name: names.index(name) for name in (*FIELDS, *OPTIONAL) if name in names}
                reader = csv.reader(text, delimiter=delimiter)
                break
        if reader is None or columns is None:
            raise ReportError("no header line (with merchantReference and state columns) was found")
        width = max(columns.values()) + 1
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) < width:
                    raise ReportError(
                        f"{len(row)} columns where the header has {width}", header_at + reader.line_num
                    )
                yield _read(
                    header_at + reader.line_num,
                    {name: row[index] for name, index in columns.items()},
                    zone,
                )
        except csv.Error as error:
            raise ReportError(f"not readable as CSV ({error})", header_at + reader.line_num) from None
    finally:
        text.detach()


def write_export(transactions: list[dict], fields: list[str] | None = None) -> str:
    """An export as Checkout writes it (the sandbox's): the API's field names as the header."""
    names = fields or [*FIELDS.values(), *OPTIONAL.values()]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for transaction in transactions:
        writer.writerow(["" if transaction.get(name) is None else transaction.get(name) for name in names])
    return out.getvalue()

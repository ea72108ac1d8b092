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


def _cents(raw: str, line: int, column: str) -> int:
    """An amount in francs (``12``, ``12.5``, ``12.50``; empty is 0) in cents. String operations,
    not a regular expression or Decimal: a million lines have two amounts each."""
    text = raw.strip()
    if not text:
        return 0
    francs, point, decimals = text.partition(".")
    digits, whole = francs + decimals, decimals or not point  # "12." is no amount
    if digits.isascii() and digits.isdigit() and whole and len(francs) <= 13 and len(decimals) <= 2:
        return int(francs or "0") * 100 + int(decimals.ljust(2, "0"))
    raise ReportError(f"{raw[:20]!r} is not an amount in francs and cents", line, column)


class _Days:
    """The local day of a ``createdOn`` (see the module's docstring). A million lines share few
    minutes: each minute and offset is converted once (every zone's offset is whole minutes)."""

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        self.known: dict[str, date] = {}

    def __call__(self, raw: str, line: int) -> date:
        text = raw.strip().replace("Z", "+00:00")
        # 2026-12-31T23:30:05.123+00:00 → key 2026-12-31T23:30 +00:00 (seconds never change the day)
        seconds_well_formed = len(text) > 19 and text[16] == ":" and text[17:19].isdigit()
        key = text[:16] + " " + text[19:].lstrip(".0123456789") if seconds_well_formed else text
        day = self.known.get(key)
        if day is None:
            day = self.known[key] = self._parse(raw, text, line)
            if len(self.known) > 100_000:
                self.known.clear()
        return day

    def _parse(self, raw: str, text: str, line: int) -> date:
        try:
            if "T" not in text and " " not in text:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ReportError(f"{raw[:30]!r} is not a date", line, "createdOn") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone).date()


def _read(number: int, row: list[str], at: dict[str, int], day: _Days) -> ReportLine:
    """One line; ``at``: each column's index in ``row`` (``refundedamount`` may be absent)."""
    checkout_id = row[at["id"]].strip()
    if not (checkout_id.isascii() and checkout_id.isdigit()) or len(checkout_id) > 18:
        raise ReportError(f"{checkout_id[:20]!r} is not a transaction id", number, "id")
    amount = _cents(row[at["authorizationamount"]], number, "authorizationAmount")
    refunded_at = at.get("refundedamount")
    refunded = 0 if refunded_at is None else _cents(row[refunded_at], number, "refundedAmount")
    state = row[at["state"]].strip().upper()
    mapped = shown(state, refunded_whole=amount > 0 and refunded >= amount)
    if mapped is None and state not in ("CREATE", "PENDING", "CONFIRMED"):
        raise ReportError(f"{state[:20]!r} is not a Checkout state", number, "state")
    currency = row[at["currency"]].strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ReportError(f"{currency[:10]!r} is not a currency", number, "currency")
    return ReportLine(
        number,
        row[at["merchantreference"]].strip(),
        checkout_id,
        mapped.rank if mapped else 0,
        mapped.status if mapped else "",
        amount,
        currency,
        day(row[at["createdon"]], number),
    )


def iter_export(stream: BinaryIO, timezone: str, info: ReportInfo | None = None) -> Iterator[ReportLine]:
    """Every line of the export, dated in ``timezone`` (``polybanking.timezone``, as e-payment's
    reports are); ReportError (naming line and column) on the first fault."""
    day = _Days(ZoneInfo(timezone))
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
                if len(row) < width:
                    if not "".join(row).strip():
                        continue  # a blank line
                    raise ReportError(
                        f"{len(row)} columns where the header has {width}", header_at + reader.line_num
                    )
                if not "".join(row).strip():
                    continue
                yield _read(header_at + reader.line_num, row, columns, day)
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

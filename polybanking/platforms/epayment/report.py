"""PostFinance transaction reports (PROTOCOL §8): reading the CSV and XML downloads, writing the CSV.

Reading is strict on purpose: a line it cannot read stops everything with an error that names the
line and the column, because a comparison made from part of a file must never look complete.
It streams (the file is never held in memory whole), so a million-line report costs little more
than a plain ``csv.reader`` pass.
"""

import codecs
import csv
import io
import operator
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO, NamedTuple
from xml.parsers import expat

#: Columns the comparison needs; the others are found by name and ignored.
REQUIRED = ("ID", "REF", "ORDER", "STATUS", "TOTAL", "CUR")

#: The header as PostFinance writes it (PROTOCOL §8), for the CSV writer.
HEADER = (
    "Id;REF;ORDER;STATUS;LIB;ACCEPT;NCID;NCSTER;PAYDATE;CIE;FACNAME1;COUNTRY;TOTAL;CUR;METHOD;BRAND;"
    "CARD;EXPDATE;UID;STRUCT;FILEID;ACTION;TICKET;DESC;SHIP;TAX;USERID;MERCHREF;REFID;REFKIND;ECI;CCCTY;"
    "IPCTY;CVCCHECK;AAVCHECK;VC;BATCHREF;OWNER;ALIAS;FRAUD_TYPE;BINCARD;REC_IPADDR;PAYDATETIME;"
    "ORDERDATETIME;SUBBRAND"
).split(";")

MAX_REF_LENGTH = 255
AMOUNT = re.compile(r"(-?)([0-9]{1,13})(?:[.,]([0-9]{1,2}))?")
PAY_ID = re.compile(r"([0-9]{1,20})(?:/([0-9]{1,9}))?")
CURRENCY = re.compile(r"[A-Z]{3}")
DATE = re.compile(
    r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?:[ T].*)?|([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T].*)?"
)
XML_CHUNK = 1 << 20


class ReportError(ValueError):
    """The report cannot be read; says what is wrong and where (line, column) when it is known."""

    def __init__(self, problem: str, line: int | None = None, column: str | None = None):
        where = []
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)
        self.problem = problem
        self.line = line
        self.column = column


class ReportLine(NamedTuple):
    """One line of the report: one PostFinance operation (PAYIDSUB) on one order."""

    line: int
    order_id: str
    pay_id: str
    pay_id_sub: int
    status: str
    amount_cents: int
    currency: str
    order_date: date


@dataclass
class ReportInfo:
    """What the reader learnt about the file; filled in while the lines are read."""

    file_format: str = ""
    encoding: str = ""


def amount_cents(raw: str) -> int | None:
    """``1015,86`` / ``1015.86`` / ``25`` (francs) → cents; None when it is no amount."""
    match = AMOUNT.fullmatch(raw)
    if match is None:
        return None
    sign, francs, decimals = match.groups()
    cents = int(francs) * 100 + (int(decimals.ljust(2, "0")) if decimals else 0)
    return -cents if sign else cents


def parse_date(raw: str) -> date | None:
    """``2/3/2026`` (day first, as PostFinance writes it) or ``2026-03-02``, optionally with a time."""
    match = DATE.fullmatch(raw.strip())
    if match is None:
        return None
    day, month, year, iso_year, iso_month, iso_day = match.groups()
    try:
        if year:
            return date(int(year), int(month), int(day))
        return date(int(iso_year), int(iso_month), int(iso_day))
    except ValueError:
        return None


class _LineReader:
    """Checks one line's values. A fast path serves the usual line (known status, currency and day
    are cached; a plain ``PAYID/PAYIDSUB`` and ``francs,cents``); anything else takes the strict path,
    which accepts the rarer forms and words the error."""

    def __init__(self) -> None:
        self.dates: dict[str, date] = {}
        self.currencies: dict[str, str] = {}
        self.statuses: dict[str, str] = {}
        self.make = ReportLine._make
        #: Column name → how errors name it (``13 (TOTAL)`` in a CSV file).
        self.labels: dict[str, str] = {}

    def read(
        self, number: int, pay: str, ref: str, order: str, status: str, total: str, cur: str
    ) -> ReportLine:
        order_date = self.dates.get(order)
        known_status = self.statuses.get(status)
        currency = self.currencies.get(cur)
        pay_id, _slash, sub = pay.partition("/")
        francs, _comma, decimals = total.partition(",")
        if (
            order_date is not None
            and known_status is not None
            and currency is not None
            and 0 < len(ref) <= MAX_REF_LENGTH
            and "\x00" not in ref
            and 0 < len(pay_id) <= 20
            and pay_id.isdigit()
            and pay_id.isascii()
            and 0 < len(sub) <= 9
            and sub.isdigit()
            and sub.isascii()
            and 0 < len(francs) <= 13
            and francs.isdigit()
            and francs.isascii()
            and len(decimals) == 2
            and decimals.isdigit()
            and decimals.isascii()
        ):
            cents = int(francs) * 100 + int(decimals)
            return self.make((number, ref, pay_id, int(sub), known_status, cents, currency, order_date))
        return self.strict(
            number, {"ID": pay, "REF": ref, "ORDER": order, "STATUS": status, "TOTAL": total, "CUR": cur}
        )

    def strict(self, number: int, values: dict[str, str]) -> ReportLine:
        def fail(key: str, problem: str) -> ReportError:
            return ReportError(problem, number, self.labels.get(key, key))

        ref = values["REF"]
        if not ref:
            raise fail("REF", "the order reference is empty")
        if len(ref) > MAX_REF_LENGTH or "\x00" in ref:
            raise fail("REF", "the order reference is too long or contains a NUL character")
        match = PAY_ID.fullmatch(values["ID"])
        if match is None:
            raise fail("ID", f"{values['ID'][:40]!r} is not PAYID/PAYIDSUB")
        status = values["STATUS"]
        if not (status.isascii() and status.isdigit() and 1 <= len(status) <= 2):
            raise fail("STATUS", f"{status[:40]!r} is not a status code")
        cents = amount_cents(values["TOTAL"])
        if cents is None:
            raise fail("TOTAL", f"{values['TOTAL'][:40]!r} is not an amount")
        currency = self.currencies.get(values["CUR"])
        if currency is None:
            if not CURRENCY.fullmatch(values["CUR"]):
                raise fail("CUR", f"{values['CUR'][:40]!r} is not a currency code")
            currency = self.currencies.setdefault(values["CUR"], values["CUR"])
        order_date = self.dates.get(values["ORDER"])
        if order_date is None:
            order_date = parse_date(values["ORDER"])
            if order_date is None:
                raise fail("ORDER", f"{values['ORDER'][:40]!r} is not a date (DD/MM/YYYY)")
            self.dates[values["ORDER"]] = order_date
        status = self.statuses.setdefault(status, status)
        return self.make(
            (number, ref, match.group(1), int(match.group(2) or 0), status, cents, currency, order_date)
        )


def _header_names(cells: Iterable[str]) -> dict[str, int]:
    """Upper-cased column name → index (the first of duplicates wins)."""
    names: dict[str, int] = {}
    for index, cell in enumerate(cells):
        names.setdefault(cell.strip().upper(), index)
    return names


def _iter_csv(text: io.TextIOBase, info: ReportInfo) -> Iterator[ReportLine]:
    reader = csv.reader(text, delimiter=";")
    checker = _LineReader()
    columns: dict[str, int] | None = None
    try:
        for row in reader:
            if columns is None:
                # Stray lines (titles, export dates…) may come before the header.
                names = _header_names(row)
                if "ID" in names and "REF" in names:
                    missing = [name for name in REQUIRED if name not in names]
                    if missing:
                        raise ReportError(f"the header has no {', '.join(missing)} column", reader.line_num)
                    columns = {name: names[name] for name in REQUIRED}
                    checker.labels = {name: f"{index + 1} ({name})" for name, index in columns.items()}
                    width = max(columns.values()) + 1
                    pick = operator.itemgetter(*(columns[name] for name in REQUIRED))
                    read = checker.read
                continue
            if len(row) < width:
                if not any(cell.strip() for cell in row):
                    continue  # blank line (a trailing newline, say)
                raise ReportError(
                    f"{len(row)} columns where the header has at least {width}", reader.line_num
                )
            yield read(reader.line_num, *pick(row))
    except csv.Error as error:
        raise ReportError(f"not readable as CSV ({error})", reader.line_num) from None
    if columns is None:
        raise ReportError("no header line (with Id and REF columns) was found")


def _iter_xml(stream: BinaryIO, info: ReportInfo) -> Iterator[ReportLine]:
    """``<DOWNLOAD_REPLY><PAYMENT ID=".." REF=".." .../>…``, read with expat, no DTD allowed."""
    parser = expat.ParserCreate()
    checker = _LineReader()
    pending: list[ReportLine] = []
    state: dict[str, str | None] = {"root": None}

    def start(tag: str, attributes: dict[str, str]) -> None:
        if state["root"] is None:
            state["root"] = tag
            if tag.upper() != "DOWNLOAD_REPLY":
                raise ReportError(
                    f"the root element is <{tag[:40]}>, not <DOWNLOAD_REPLY>", parser.CurrentLineNumber
                )
            return
        if tag.upper() != "PAYMENT":
            return
        values = {name.upper(): value for name, value in attributes.items()}
        missing = [name for name in REQUIRED if name not in values]
        if missing:
            raise ReportError(f"<PAYMENT> has no {', '.join(missing)} attribute", parser.CurrentLineNumber)
        pending.append(checker.strict(parser.CurrentLineNumber, values))

    def doctype(*_args) -> None:
        # No report needs a DTD; refusing it rules out entity expansion and external entities.
        raise ReportError("a DOCTYPE is not allowed in a report", parser.CurrentLineNumber)

    def declaration(_version, encoding, _standalone) -> None:
        info.encoding = (encoding or "UTF-8").upper()

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.XmlDeclHandler = declaration
    info.encoding = "UTF-8"
    try:
        while True:
            chunk = stream.read(XML_CHUNK)
            parser.Parse(chunk, not chunk)
            yield from pending
            pending.clear()
            if not chunk:
                break
    except expat.ExpatError as error:
        raise ReportError(
            f"not well-formed XML ({expat.ErrorString(error.code)})", error.lineno, str(error.offset + 1)
        ) from None
    if state["root"] is None:
        raise ReportError("the XML document is empty")


def _sniff(stream: BinaryIO) -> str:
    """``xml`` when the first non-blank character (after a BOM) is ``<``, else ``csv``."""
    head = stream.read(4096)
    stream.seek(0)
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return "xml" if text.startswith(b"<") else "csv"


def detect_encoding(stream: BinaryIO) -> str:
    """``utf-8-sig`` when every byte is UTF-8 (a BOM is dropped), else ``iso-8859-1``.

    A pass of its own (C-speed, in chunks) so that the reading pass never has to start over.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    stream.seek(0)
    try:
        while chunk := stream.read(XML_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "iso-8859-1"
    finally:
        stream.seek(0)


def iter_report(stream: BinaryIO, info: ReportInfo | None = None) -> Iterator[ReportLine]:
    """Every line of the report in ``stream`` (binary, seekable); raises ReportError on the first fault.

    Collect the lines only once the iteration has finished without error: an error on the last
    line means the file as a whole is not read.
    """
    info = info if info is not None else ReportInfo()
    info.file_format = _sniff(stream)
    if info.file_format == "xml":
        yield from _iter_xml(stream, info)
        return
    encoding = detect_encoding(stream)
    info.encoding = "UTF-8" if encoding == "utf-8-sig" else "ISO-8859-1"
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        yield from _iter_csv(text, info)
    finally:
        text.detach()


def format_amount(cents: int) -> str:
    """Cents → PostFinance's ``1015,86``."""
    sign = "-" if cents < 0 else ""
    francs, rest = divmod(abs(cents), 100)
    return f"{sign}{francs},{rest:02d}"


def format_date(value: datetime | date) -> str:
    """PostFinance's ``2/3/2026`` (day and month without leading zeros)."""
    return f"{value.day}/{value.month}/{value.year}"


def write_csv(rows: Iterable[dict[str, str]], stream: io.TextIOBase) -> None:
    """PostFinance's CSV: the full header, ``;`` after every value, one line per row (by column name)."""
    stream.write(";".join(HEADER) + ";\r\n")
    for row in rows:
        stream.write("".join(f"{str(row.get(name, '')).replace(';', ',')};" for name in HEADER) + "\r\n")

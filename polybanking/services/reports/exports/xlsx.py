"""The Excel export: typed cells an accountant can sum and sort.

Amounts are numbers in CHF (``amount_chf``, shown with two decimals; ``amount`` stays the API's
integer cents), dates are Excel dates in the organisation's time zone (a cell holds no zone, so the
header names it), ``ipn_needed`` is a boolean and text is always written as text, never as a formula.
A sheet holds at most 1 048 575 rows, so longer exports continue on further sheets. A second sheet
says what the file holds.

The workbook is written as SpreadsheetML directly, one row of XML at a time into the zip: memory
stays flat, and the rows go out several times faster than XlsxWriter writing cell by cell
(``bench/export.py --xlsx`` prints both, beside the CSV export). The parts are in
:mod:`.xlsx_parts`; the tests read every file back with openpyxl.
"""

from datetime import datetime
from typing import IO
from zipfile import ZIP_DEFLATED, ZipFile

from sqlalchemy.engine import Engine

from ...payments.fields import DATE_FIELDS, DETAIL_FIELDS, transaction_detail
from . import xlsx_parts as parts
from .rows import batches
from .spec import ExportSpec, Progress, filename

MAX_DATA_ROWS = 1_048_575  # Excel's 1 048 576 rows, less the header
NUMBER_FIELDS = {"amount", "amount_chf", "ipn_needed", "refunded_amount"}
TEXT_FIELDS = frozenset(DETAIL_FIELDS) - frozenset(DATE_FIELDS) - NUMBER_FIELDS
#: Deflate's fastest level: the XML is repetitive enough that it still shrinks about tenfold.
COMPRESS_LEVEL = 1


class _Sheets:
    """The data sheets, a new one started when one is full; one zip entry open at a time, rows
    buffered between flushes (a batch's worth)."""

    def __init__(self, archive: ZipFile, spec: ExportSpec):
        self.archive = archive
        self.columns = (("config", "config_name") if spec.all_configs else ()) + DETAIL_FIELDS
        tz = spec.period.tz.key
        self.header = [f"{name} ({tz})" if name in DATE_FIELDS else name for name in self.columns]
        self.widths = [
            20 if name in DATE_FIELDS else max(10, min(len(title) + 2, 30))
            for name, title in zip(self.columns, self.header, strict=True)
        ]
        self.names: list[str] = []
        self.file: IO[bytes] | None = None
        self.pending: list[str] = []
        self.row = MAX_DATA_ROWS + 1  # the sheet line last written (the header is line 1)

    def next_line(self) -> int:
        """The sheet line of the next data row, starting a new sheet when this one is full."""
        if self.row > MAX_DATA_ROWS:  # MAX_DATA_ROWS data lines below the header
            self.close()
            number = len(self.names) + 1
            self.names.append("Transactions" if number == 1 else f"Transactions ({number})")
            self.file = self.archive.open(parts.sheet_path(number), "w", force_zip64=True)
            self.pending = [parts.sheet_head(self.widths, frozen=True), parts.header_row(self.header)]
            self.row = 1
        self.row += 1
        return self.row

    def add(self, row_xml: str) -> None:
        self.pending.append(row_xml)

    def flush(self) -> None:
        if self.file is not None and self.pending:
            self.file.write("".join(self.pending).encode())
        self.pending = []

    def close(self) -> None:
        if self.file is not None:
            self.pending.append(parts.SHEET_TAIL)
            self.flush()
            self.file.close()
            self.file = None


def _no_date(_moment) -> str:
    return ""  # dates are written as Excel dates below, never as the API's text


#: Each kind of cell with a ``%s`` hole for its value. Cells carry no ``r`` reference: SpreadsheetML
#: places a cell without one right after the previous, which every field has (a missing date is an
#: empty styled cell, read as no value), so the row's only number is its own.
_TEXT, _AMOUNT, _CHF, _BOOL, _DATE = range(5)
_CELL = {
    _TEXT: '<c t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>',
    _AMOUNT: f'<c s="{parts.INT}"><v>%s</v></c>',
    _CHF: f'<c s="{parts.CHF}"><v>%s</v></c>',
    _BOOL: '<c t="b"><v>%s</v></c>',
    _DATE: f'<c s="{parts.DATE}">%s</c>',
}
_KIND = {"amount": _AMOUNT, "refunded_amount": _AMOUNT, "amount_chf": _CHF, "ipn_needed": _BOOL}
#: Each field's kind, in DETAIL_FIELDS' order.
_PLAN = [(_TEXT if name in TEXT_FIELDS else _KIND.get(name, _DATE), name) for name in DETAIL_FIELDS]


def _row_template(all_configs: bool) -> str:
    """A data row's XML with a ``%s`` hole for its line and one for each cell: one ``%`` a row."""
    kinds = ([_AMOUNT, _TEXT] if all_configs else []) + [kind for kind, _name in _PLAN]
    return '<row r="%s">' + "".join(_CELL[kind] for kind in kinds) + "</row>"


def _row_values(row, line: int, spec: ExportSpec, as_moment) -> tuple:
    """The template's values for one row: the hot loop of a million-row export."""
    fields = transaction_detail(row, date=_no_date)
    table = parts.ESCAPES
    values: list[object] = [line]
    if spec.all_configs:
        values += (row.config_id, spec.configs.get(row.config_id, "").translate(table))
    tz = spec.period.tz
    excel_date = parts.excel_date
    for kind, name in _PLAN:
        if kind == _TEXT:
            values.append(fields[name].translate(table))
        elif kind == _DATE:
            moment: datetime | None = as_moment(getattr(row, name))
            values.append("" if moment is None else f"<v>{excel_date(moment.astimezone(tz))!r}</v>")
        elif kind == _AMOUNT:
            values.append(getattr(row, name) or 0)
        elif kind == _CHF:
            values.append(repr(row.amount / 100))
        else:
            values.append(int(bool(row.ipn_needed)))
    return tuple(values)


def _about(spec: ExportSpec, rows: int) -> list[tuple[str, str]]:
    if spec.all_configs:
        configs = "all configs"
    else:
        assert spec.config_id is not None
        configs = f"{spec.configs[spec.config_id]} (config {spec.config_id})"
    return [
        ("File", filename(spec)),
        ("Configs", configs),
        ("Period", str(spec.period)),
        ("Transactions", "good payments only (status 5 or 9)" if spec.only_good else "all statuses"),
        ("Rows", str(rows)),
        ("Dates", f"local time, {spec.period.tz.key}"),
    ]


def write_workbook(file: IO[bytes], engine: Engine, spec: ExportSpec, progress: Progress) -> None:
    """Write the export as an .xlsx workbook into ``file`` (a seekable binary file)."""
    with ZipFile(file, "w", compression=ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive:
        sheets = _Sheets(archive, spec)
        template = _row_template(spec.all_configs)
        done = 0
        for batch in batches(engine, spec, dates_as_text=False):  # Excel wants the dates themselves
            for row in batch.rows:
                sheets.add(template % _row_values(row, sheets.next_line(), spec, batch.moment))
            sheets.flush()
            done += len(batch.rows)
            progress(done)
        if done == 0:
            sheets.next_line()  # the header, even for an empty export
        sheets.close()
        about_number = len(sheets.names) + 1
        with archive.open(parts.sheet_path(about_number), "w") as about:
            about.write(parts.about_sheet(_about(spec, done)).encode())
        parts.write_package(archive, [*sheets.names, "Export"])

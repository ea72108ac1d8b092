"""The Excel export: typed cells an accountant can sum and sort.

Amounts are numbers in CHF (``amount_chf``, shown with two decimals; ``amount`` stays the API's
integer cents), dates are Excel dates in the organisation's time zone (a cell holds no zone, so the
header names it), ``ipn_needed`` is a boolean and text is always written as text, never as a formula.
XlsxWriter's constant-memory mode keeps one row in memory; a sheet holds at most 1 048 575 rows, so
longer exports continue on further sheets. A second sheet says what the file holds.
"""

from datetime import datetime
from typing import IO

import xlsxwriter
from sqlalchemy.engine import Engine

from ...payments.fields import DATE_FIELDS, DETAIL_FIELDS, transaction_detail
from .rows import batches
from .spec import ExportSpec, Progress, filename

MAX_DATA_ROWS = 1_048_575  # Excel's 1 048 576 rows, less the header
NUMBER_FIELDS = {"amount", "amount_chf", "ipn_needed", "refunded_amount"}
TEXT_FIELDS = frozenset(DETAIL_FIELDS) - frozenset(DATE_FIELDS) - NUMBER_FIELDS


class _Sheets:
    """The data sheets, a new one started when one is full."""

    def __init__(self, workbook, spec: ExportSpec):
        self.workbook = workbook
        self.spec = spec
        self.bold = workbook.add_format({"bold": True})
        self.formats = {
            "date": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            "chf": workbook.add_format({"num_format": "#,##0.00"}),
            "int": workbook.add_format({"num_format": "0"}),
        }
        tz = spec.period.tz.key
        self.columns = (("config", "config_name") if spec.all_configs else ()) + DETAIL_FIELDS
        self.header = [f"{name} ({tz})" if name in DATE_FIELDS else name for name in self.columns]
        self.sheet = None
        self.row = MAX_DATA_ROWS
        self.count = 0

    def next_row(self):
        if self.row >= MAX_DATA_ROWS:
            self.count += 1
            name = "Transactions" if self.count == 1 else f"Transactions ({self.count})"
            self.sheet = self.workbook.add_worksheet(name)
            for column, title in enumerate(self.header):
                width = 20 if self.columns[column] in DATE_FIELDS else max(10, min(len(title) + 2, 30))
                self.sheet.set_column(column, column, width)
            self.sheet.write_row(0, 0, self.header, self.bold)
            self.sheet.freeze_panes(1, 0)
            self.row = 0
        self.row += 1
        return self.sheet, self.row


def _write_row(sheets: _Sheets, row, spec: ExportSpec) -> None:
    sheet, line = sheets.next_row()
    formats = sheets.formats
    fields = transaction_detail(row)
    column = 0
    if spec.all_configs:
        sheet.write_number(line, 0, row.config_id, formats["int"])
        sheet.write_string(line, 1, spec.configs.get(row.config_id, ""))
        column = 2
    tz = spec.period.tz
    for name in DETAIL_FIELDS:
        if name in TEXT_FIELDS:
            sheet.write_string(line, column, fields[name])
        elif name in ("amount", "refunded_amount"):
            sheet.write_number(line, column, getattr(row, name) or 0, formats["int"])
        elif name == "amount_chf":
            sheet.write_number(line, column, row.amount / 100, formats["chf"])
        elif name == "ipn_needed":
            sheet.write_boolean(line, column, bool(row.ipn_needed))
        else:
            moment: datetime | None = getattr(row, name)
            if moment is not None:
                local = moment.astimezone(tz).replace(tzinfo=None)
                sheet.write_datetime(line, column, local, formats["date"])
        column += 1


def _write_about(workbook, spec: ExportSpec, rows: int) -> None:
    sheet = workbook.add_worksheet("Export")
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 60)
    if spec.all_configs:
        configs = "all configs"
    else:
        assert spec.config_id is not None
        configs = f"{spec.configs[spec.config_id]} (config {spec.config_id})"
    lines = (
        ("File", filename(spec)),
        ("Configs", configs),
        ("Period", str(spec.period)),
        ("Transactions", "good payments only (status 5 or 9)" if spec.only_good else "all statuses"),
        ("Rows", str(rows)),
        ("Dates", f"local time, {spec.period.tz.key}"),
    )
    for line, (label, value) in enumerate(lines):
        sheet.write_string(line, 0, label)
        sheet.write_string(line, 1, value)


def write_workbook(file: IO[bytes], engine: Engine, spec: ExportSpec, progress: Progress) -> None:
    """Write the export as an .xlsx workbook into ``file`` (a seekable binary file)."""
    workbook = xlsxwriter.Workbook(file, {"constant_memory": True, "strings_to_formulas": False})
    sheets = _Sheets(workbook, spec)
    done = 0
    for batch in batches(engine, spec, dates_as_text=False):  # Excel wants the dates themselves
        for row in batch.rows:
            _write_row(sheets, row, spec)
        done += len(batch.rows)
        progress(done)
    if done == 0:
        sheets.next_row()  # the header, even for an empty export
    _write_about(workbook, spec, done)
    workbook.close()

"""The export formats: each turns the streamed rows into file chunks of about ``CHUNK`` bytes.

- CSV: PROTOCOL §7's detail fields as columns (``config`` and ``config_name`` first when several
  configs are exported), no logs; plain RFC 4180 UTF-8 for programs; values as the API gives them
  (``amount`` in cents, ``amount_chf`` the number ``1234.5``).
- JSON and XML: each transaction with its log lines under ``logs``, as the original PolyBanking
  exported them (XML: ``<data><export><item>…``, fields in name order).
- Excel: typed cells (amounts in CHF as numbers, dates as dates in the organisation's time zone),
  written row by row as SpreadsheetML into a zip (memory flat), then sent from a temporary file.
"""

import csv
import io
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from xml.sax.saxutils import escape

from sqlalchemy.engine import Engine

from ...payments.fields import DETAIL_FIELDS, log_detail, transaction_detail
from .rows import Batch, batches
from .spec import ExportSpec, Progress

CHUNK = 64 * 1024

#: Text that a spreadsheet would run as a formula (OWASP's CSV injection list). Such cells get a
#: leading ``'``: references and extra data come from websites and, through them, from shoppers.
_FORMULA_START = frozenset("=+-@\t\r")


def neutralise(text: str) -> str:
    return "'" + text if text[:1] in _FORMULA_START else text


def _config_fields(spec: ExportSpec, config_id: int) -> dict:
    return {"config": str(config_id), "config_name": spec.configs.get(config_id, "")}


def _chunks(
    engine: Engine,
    spec: ExportSpec,
    progress: Progress,
    write_batch: Callable[[Batch, io.StringIO], None],
    head: str = "",
    tail: str = "",
    with_logs: bool = False,
) -> Iterator[bytes]:
    """Drive a text format: ``write_batch`` appends a batch to the buffer, which is sent whenever
    it holds a chunk's worth."""
    buffer = io.StringIO()
    buffer.write(head)
    done = 0
    for batch in batches(engine, spec, with_logs=with_logs):
        write_batch(batch, buffer)
        done += len(batch.rows)
        progress(done)
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    buffer.write(tail)
    yield buffer.getvalue().encode()


def _csv_line(values) -> str:
    """One line as csv.writer writes it (QUOTE_MINIMAL, CRLF)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def write_csv(engine: Engine, spec: ExportSpec, progress: Progress) -> Iterator[bytes]:
    """csv.writer's exact output, written faster: almost no line needs quoting, so the fields are
    joined as they are, and a line showing a quote, a line break or more commas than separators
    goes through csv.writer instead (a third of a million-row export's time saved)."""
    several = spec.all_configs
    header = _csv_line((("config", "config_name") if several else ()) + DETAIL_FIELDS)
    commas = len(DETAIL_FIELDS) - 1
    # The config's two columns, ready to start a line.
    prefixes = {id_: _csv_line((id_, neutralise(name)))[:-2] + "," for id_, name in spec.configs.items()}

    def write_batch(batch: Batch, buffer: io.StringIO) -> None:
        writerow = csv.writer(buffer).writerow
        write = buffer.write
        date = batch.date
        risky = _FORMULA_START
        prefix = ""
        for row in batch.rows:
            fields = transaction_detail(row, date)
            if fields["reference"][:1] in risky:
                fields["reference"] = neutralise(fields["reference"])
            if fields["extra_data"][:1] in risky:
                fields["extra_data"] = neutralise(fields["extra_data"])
            fields["amount_chf"] = repr(fields["amount_chf"])  # what csv.writer writes for a float
            if several:
                prefix = prefixes.get(row.config_id) or _csv_line((row.config_id, ""))[:-2] + ","
            line = ",".join(fields.values())
            if line.count(",") == commas and '"' not in line and "\n" not in line and "\r" not in line:
                write(f"{prefix}{line}\r\n")
            else:
                write(prefix)
                writerow(fields.values())

    return _chunks(engine, spec, progress, write_batch, head=header)


def _with_logs(spec: ExportSpec, batch: Batch) -> Iterator[dict]:
    """Each row as PROTOCOL §7's detail, with its config when several, and its ``logs``."""
    for row in batch.rows:
        item = _config_fields(spec, row.config_id) if spec.all_configs else {}
        item.update(transaction_detail(row, batch.date))
        item["logs"] = [log_detail(log, batch.date) for log in batch.logs.get(row.id, ())]
        yield item


def write_json(engine: Engine, spec: ExportSpec, progress: Progress) -> Iterator[bytes]:
    first = True

    def write_batch(batch: Batch, buffer: io.StringIO) -> None:
        nonlocal first
        for item in _with_logs(spec, batch):
            buffer.write("\n" if first else ",\n")
            buffer.write(json.dumps(item, ensure_ascii=False))
            first = False

    return _chunks(engine, spec, progress, write_batch, head="[", tail="\n]\n", with_logs=True)


#: Characters XML 1.0 cannot carry at all, even escaped; replaced so the file stays well-formed.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value) -> str:
    return escape(_NOT_XML.sub("\ufffd", str(value)))


def _xml_fields(item: dict, indent: str) -> Iterable[str]:
    for name in sorted(item):
        value = item[name]
        if isinstance(value, list):
            yield f"{indent}<{name}>\n"
            for entry in value:
                yield f"{indent} <item>\n"
                yield from _xml_fields(entry, indent + "  ")
                yield f"{indent} </item>\n"
            yield f"{indent}</{name}>\n"
        elif value == "":
            yield f"{indent}<{name} />\n"
        else:
            yield f"{indent}<{name}>{_xml_text(value)}</{name}>\n"


def write_xml(engine: Engine, spec: ExportSpec, progress: Progress) -> Iterator[bytes]:
    def write_batch(batch: Batch, buffer: io.StringIO) -> None:
        for item in _with_logs(spec, batch):
            buffer.write("  <item>\n")
            buffer.writelines(_xml_fields(item, "   "))
            buffer.write("  </item>\n")

    head = '<?xml version="1.0" encoding="utf-8"?>\n<data>\n <export>\n'
    tail = " </export>\n</data>\n"
    return _chunks(engine, spec, progress, write_batch, head=head, tail=tail, with_logs=True)


def write_xlsx(engine: Engine, spec: ExportSpec, progress: Progress) -> Iterator[bytes]:
    from .xlsx import write_workbook  # loaded only when an Excel file is asked for

    with tempfile.TemporaryFile() as file:
        write_workbook(file, engine, spec, progress)
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk


WRITERS: dict[str, Callable[[Engine, ExportSpec, Progress], Iterator[bytes]]] = {
    "csv": write_csv,
    "json": write_json,
    "xml": write_xml,
    "xlsx": write_xlsx,
}

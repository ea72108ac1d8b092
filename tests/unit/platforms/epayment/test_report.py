"""PROTOCOL §8: reading PostFinance's transaction reports, and refusing what cannot be read (saying
what and where) instead of giving part of a file."""

import io
from datetime import date

import pytest

from polybanking.platforms.epayment.report import (
    ReportError,
    ReportInfo,
    amount_cents,
    format_amount,
    iter_report,
    write_csv,
)

from ....reports import FIXTURE, HEADER, Line, csv_bytes, xml_bytes


def read(data: bytes) -> tuple[list, ReportInfo]:
    info = ReportInfo()
    return list(iter_report(io.BytesIO(data), info)), info


def error_of(data: bytes) -> ReportError:
    with pytest.raises(ReportError) as caught:
        read(data)
    return caught.value


def test_the_shared_fixture_parses_line_by_line():
    with FIXTURE.open("rb") as stream:
        lines = list(iter_report(stream))
    assert [(x.order_id, x.pay_id, x.pay_id_sub, x.status, x.amount_cents) for x in lines] == [
        ("polybanking-1", "3100000101", 0, "9", 2500),
        ("polybanking-2", "3100000102", 0, "5", 1250),
        ("polybanking-2", "3100000102", 1, "9", 1250),
        ("polybanking-3", "3100000103", 0, "2", 9900),
        ("polybanking-4", "3100000104", 0, "9", 500050),
        ("polybanking-4", "3100000104", 1, "8", 500050),
        ("webshop-77", "3100000105", 0, "9", 3000),
        ("polybanking-6", "3100000106", 0, "1", 700),
    ]
    assert lines[0].line == 2 and lines[-1].line == 9
    assert lines[0].order_date == date(2026, 3, 2) and lines[-1].order_date == date(2026, 3, 31)
    assert {x.currency for x in lines} == {"CHF"}


LINES = [
    Line("polybanking-1", total="1015,86", owner="Zoë Müller"),
    Line("polybanking-2", payid="3100000002", status="5", total="7", order=date(2026, 3, 31)),
]
EXPECTED = [("polybanking-1", 101586, "9", date(2026, 3, 2)), ("polybanking-2", 700, "5", date(2026, 3, 31))]


def summary(lines):
    return [(x.order_id, x.amount_cents, x.status, x.order_date) for x in lines]


@pytest.mark.parametrize(
    ("options", "encoding"),
    [
        ({}, "UTF-8"),
        ({"bom": True}, "UTF-8"),
        ({"newline": "\r\n"}, "UTF-8"),
        ({"bom": True, "newline": "\r\n"}, "UTF-8"),
        ({"encoding": "iso-8859-1"}, "ISO-8859-1"),
        ({"encoding": "iso-8859-1", "newline": "\r\n"}, "ISO-8859-1"),
        ({"stray": ("Transactions list", "Exported 01/04/2026 08:00;;", "")}, "UTF-8"),
        ({"encoding": "iso-8859-1", "stray": ("Liste des transactions éàü",)}, "ISO-8859-1"),
    ],
)
def test_encodings_line_ends_and_stray_lines(options, encoding):
    lines, info = read(csv_bytes(LINES, **options))
    assert summary(lines) == EXPECTED
    assert (info.file_format, info.encoding) == ("csv", encoding)
    stray = len(options.get("stray", ()))
    assert [x.line for x in lines] == [stray + 2, stray + 3]


def test_columns_are_found_by_name_reordered_or_missing():
    header = ["CUR", "TOTAL", "OWNER", "STATUS", "ORDER", "REF", "Id"]
    lines, _ = read(csv_bytes(LINES, header=header))
    assert summary(lines) == EXPECTED


def test_header_names_in_any_case_and_trailing_blank_lines():
    upper = ";".join(HEADER).encode()
    data = csv_bytes(LINES).replace(upper, upper.lower()) + b"\n\n;;\n"
    assert summary(read(data)[0]) == EXPECTED


def test_xml_flavour():
    lines, info = read(xml_bytes(LINES))
    assert summary(lines) == EXPECTED
    assert info.file_format == "xml"
    latin, info = read(xml_bytes(LINES, encoding="iso-8859-1"))
    assert summary(latin) == EXPECTED and info.encoding == "ISO-8859-1"


@pytest.mark.parametrize(
    ("raw", "cents"),
    [("1015,86", 101586), ("1015.86", 101586), ("25", 2500), ("12,5", 1250), ("0,05", 5), ("-3,00", -300)],
)
def test_amounts(raw, cents):
    assert amount_cents(raw) == cents


@pytest.mark.parametrize("raw", ["", "12,345", "1e3", "1'015,86", " 12", "12,", ",5", "１２", "--1"])
def test_not_amounts(raw):
    assert amount_cents(raw) is None


def test_a_payid_without_payidsub_is_payidsub_0():
    data = csv_bytes([Line("polybanking-1")]).replace(b"3100000001/0", b"3100000001")
    assert read(data)[0][0].pay_id_sub == 0


def bad_line(**values) -> bytes:
    """A report whose second data line (file line 3) has the given values."""
    return csv_bytes([Line("polybanking-1"), Line(**({"ref": "polybanking-2"} | values))])


@pytest.mark.parametrize(
    ("data", "where", "words"),
    [
        (bad_line(total="12.5.0"), "line 3, column 13 (TOTAL)", "'12.5.0' is not an amount"),
        (bad_line(total=""), "line 3, column 13 (TOTAL)", "is not an amount"),
        (bad_line(status="A"), "line 3, column 4 (STATUS)", "'A' is not a status code"),
        (bad_line(status="123"), "line 3, column 4 (STATUS)", "not a status code"),
        (bad_line(payid="31x"), "line 3, column 1 (ID)", "is not PAYID/PAYIDSUB"),
        (bad_line(cur="chf"), "line 3, column 14 (CUR)", "not a currency code"),
        (
            bad_line(order=date(2026, 3, 3)).replace(b";3/3/2026;", b";2026/3/3;"),
            "line 3, column 3 (ORDER)",
            "'2026/3/3' is not a date",
        ),
        (bad_line(ref=""), "line 3, column 2 (REF)", "empty"),
        (bad_line(ref="x" * 300), "line 3, column 2 (REF)", "too long"),
    ],
)
def test_bad_values_name_line_and_column(data, where, words):
    error = error_of(data)
    assert str(error).startswith(where + ": "), str(error)
    assert words in str(error)
    assert error.line == 3


def test_impossible_date():
    error = error_of(csv_bytes([Line("polybanking-1", order=date(2026, 2, 28))]).replace(b"28/2/", b"30/2/"))
    assert error.line == 2 and "ORDER" in str(error)


def test_a_short_line_is_an_error_not_a_skipped_line():
    data = csv_bytes(LINES) + b"3100000009/0;polybanking-9;2/3/2026;9\n"
    error = error_of(data)
    assert error.line == 4 and "columns" in str(error)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "no header line"),
        (b"just some text\nand more\n", "no header line"),
        (b"Id;REF;ORDER;STATUS;CUR;\n", "the header has no TOTAL column"),
        (b"\x00\x01\x02\xff\xfe" * 100, "no header line"),
        (csv_bytes([]), "no transaction lines"),
    ],
)
def test_files_that_are_not_reports(data, words):
    if words == "no transaction lines":
        assert read(data)[0] == []  # the service refuses it (services/reconcile/test_comparison.py)
        return
    assert words in str(error_of(data))


def test_an_unterminated_quote_is_an_error():
    data = csv_bytes(LINES).replace(b"Alice", b'"Alice', 1) + b"x" * 140_000
    assert "not readable as CSV" in str(error_of(data))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (xml_bytes(LINES)[:-30], "not well-formed XML"),
        (b"<DOWNLOAD_REPLY><PAYMENT ID='1'", "not well-formed XML"),
        (b'<!DOCTYPE r [<!ENTITY a "aaaa">]><DOWNLOAD_REPLY>&a;</DOWNLOAD_REPLY>', "DOCTYPE is not allowed"),
        (b'<!DOCTYPE r SYSTEM "file:///etc/passwd"><DOWNLOAD_REPLY/>', "DOCTYPE is not allowed"),
        (b"<html><body>Login</body></html>", "not <DOWNLOAD_REPLY>"),
        (b"<DOWNLOAD_REPLY><PAYMENT ID='1/0' REF='x'/></DOWNLOAD_REPLY>", "has no ORDER, STATUS, TOTAL, CUR"),
        (xml_bytes(LINES).replace(b'TOTAL="7"', b'TOTAL="seven"'), "'seven' is not an amount"),
    ],
)
def test_xml_that_cannot_be_read(data, words):
    error = error_of(data)
    assert words in str(error)
    assert error.line is not None


def test_written_csv_reads_back_the_same():
    rows = [
        {"Id": "3100000001/0", "REF": "polybanking-1", "ORDER": "2/3/2026", "STATUS": "9"}
        | {"TOTAL": format_amount(101586), "CUR": "CHF", "OWNER": "a;b"},
        {"Id": "3100000002/1", "REF": "webshop-2", "ORDER": "3/3/2026", "STATUS": "8"}
        | {"TOTAL": format_amount(5), "CUR": "EUR"},
    ]
    out = io.StringIO()
    write_csv(rows, out)
    text = out.getvalue()
    assert text.splitlines()[0] == ";".join(HEADER) + ";"
    assert all(line.endswith(";") for line in text.split("\r\n") if line)
    lines, _ = read(text.encode("iso-8859-1"))
    assert [(x.order_id, x.pay_id_sub, x.amount_cents, x.currency) for x in lines] == [
        ("polybanking-1", 0, 101586, "CHF"),
        ("webshop-2", 1, 5, "EUR"),
    ]

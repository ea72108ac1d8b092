"""The SpreadsheetML pieces of the Excel export: escaping, column names, Excel's date numbers."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from polybanking.services.reports.exports import xlsx_parts as parts


def test_text_is_escaped_for_xml_and_control_characters_as_excel_writes_them():
    assert "<&>".translate(parts.ESCAPES) == "&lt;&amp;&gt;"
    assert "bell\x07 nul\x00".translate(parts.ESCAPES) == "bell_x0007_ nul_x0000_"
    assert "tab\tnew\nline\r".translate(parts.ESCAPES) == "tab\tnew\nline\r"  # legal in XML
    assert "Zürich ✓ =1+1".translate(parts.ESCAPES) == "Zürich ✓ =1+1"


def test_column_letters():
    assert [parts.column_letter(index) for index in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA",
    ]  # fmt: skip


def test_excel_dates_are_the_local_wall_clock():
    assert parts.excel_date(datetime(1900, 3, 1)) == 61.0  # Excel's serial, past its 1900 leap bug
    assert parts.excel_date(datetime(2026, 11, 1, 0, 30)) == 46327 + 0.5 / 24
    zurich = ZoneInfo("Europe/Zurich")
    # 23:30 UTC on 31 October 2026 is 00:30 on 1 November in Zurich (CET, UTC+1) ...
    assert parts.excel_date(datetime(2026, 10, 31, 23, 30, tzinfo=UTC).astimezone(zurich)) == 46327 + 0.5 / 24
    # ... and on 28 March 2027 the clocks jump from 02:00 to 03:00: 01:30 UTC is 03:30 local.
    local = datetime(2027, 3, 28, 1, 30, tzinfo=UTC).astimezone(zurich)
    assert parts.excel_date(local) == parts.excel_date(datetime(2027, 3, 28, 3, 30))

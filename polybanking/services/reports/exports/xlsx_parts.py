"""The parts of an .xlsx package (SpreadsheetML, ECMA-376) that the Excel export writes.

Only what the export needs: inline strings (no shared-string table to hold in memory), four cell
styles (bold header, integer, CHF, local date and time), a frozen header row, column widths.
Text is escaped for XML, and the characters XML cannot hold are written as Excel's ``_xHHHH_``.
"""

from datetime import datetime
from zipfile import ZipFile

#: Cell style indexes of STYLES' cellXfs.
BOLD, DATE, CHF, INT = 1, 2, 3, 4
_EPOCH_ORDINAL = datetime(1899, 12, 30).toordinal()
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
ESCAPES.update({code: f"_x{code:04X}_" for code in range(32) if chr(code) not in "\t\n\r"})
ESCAPES.update({0xFFFE: "_xFFFE_", 0xFFFF: "_xFFFF_"})
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def column_letter(index: int) -> str:
    """``0`` → ``A``, ``26`` → ``AA``."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = _LETTERS[rest] + name
    return name


COLUMN_LETTERS = [column_letter(index) for index in range(64)]


def escape(text: str) -> str:
    # Lone surrogates cannot be encoded in UTF-8; PostgreSQL and SQLite text never holds one.
    return text.translate(ESCAPES)


def text_cell(column: int, line: int, text: str, style: int = 0) -> str:
    styled = f' s="{style}"' if style else ""
    return (
        f'<c r="{COLUMN_LETTERS[column]}{line}"{styled} t="inlineStr">'
        f'<is><t xml:space="preserve">{escape(text)}</t></is></c>'
    )


def excel_date(local: datetime) -> float:
    """A local time (its wall clock; the zone is dropped) as Excel's serial number: days since
    1899-12-30, the time of day as the fraction."""
    seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    return local.toordinal() - _EPOCH_ORDINAL + seconds / 86400


def sheet_path(number: int) -> str:
    return f"xl/worksheets/sheet{number}.xml"


def sheet_head(widths: list[int], frozen: bool) -> str:
    pane = (
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft"/>'
        if frozen
        else ""
    )
    columns = "".join(
        f'<col min="{index}" max="{index}" width="{width}" customWidth="1"/>'
        for index, width in enumerate(widths, start=1)
    )
    return (
        f'{HEAD}<worksheet xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
        f'<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{columns}</cols><sheetData>'
    )


SHEET_TAIL = "</sheetData></worksheet>"


def header_row(titles: list[str]) -> str:
    cells = "".join(text_cell(column, 1, title, BOLD) for column, title in enumerate(titles))
    return f'<row r="1">{cells}</row>'


def about_sheet(lines: list[tuple[str, str]]) -> str:
    rows = "".join(
        f'<row r="{line}">{text_cell(0, line, label)}{text_cell(1, line, value)}</row>'
        for line, (label, value) in enumerate(lines, start=1)
    )
    return sheet_head([18, 60], frozen=False) + rows + SHEET_TAIL


STYLES = (
    f'{HEAD}<styleSheet xmlns="{MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>'
    '<numFmt numFmtId="165" formatCode="#,##0.00"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def write_package(archive: ZipFile, sheet_names: list[str]) -> None:
    """The workbook, its relationships, the styles and the content types, for the sheets written."""
    numbers = range(1, len(sheet_names) + 1)
    sheets = "".join(
        f'<sheet name="{escape(name)}" sheetId="{number}" r:id="rId{number}"/>'
        for number, name in zip(numbers, sheet_names, strict=True)
    )
    archive.writestr(
        "xl/workbook.xml",
        f'{HEAD}<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>{sheets}</sheets></workbook>',
    )
    worksheet = f"{RELATIONSHIPS}/worksheet"
    links = "".join(
        f'<Relationship Id="rId{number}" Type="{worksheet}" Target="worksheets/sheet{number}.xml"/>'
        for number in numbers
    )
    styles_link = f'<Relationship Id="rIdStyles" Type="{RELATIONSHIPS}/styles" Target="styles.xml"/>'
    archive.writestr(
        "xl/_rels/workbook.xml.rels",
        f'{HEAD}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">{links}{styles_link}</Relationships>',
    )
    archive.writestr("xl/styles.xml", STYLES)
    document = f"{RELATIONSHIPS}/officeDocument"
    archive.writestr(
        "_rels/.rels",
        f'{HEAD}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
        f'<Relationship Id="rId1" Type="{document}" Target="xl/workbook.xml"/></Relationships>',
    )
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{number}.xml" ContentType="{sheet_type}"/>'
        for number in numbers
    )
    ml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    archive.writestr(
        "[Content_Types].xml",
        f'{HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ml}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{ml}.styles+xml"/>'
        f"{overrides}</Types>",
    )

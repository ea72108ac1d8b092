"""PostFinance transaction reports as the tests write them, from PROTOCOL §8 alone.

Deliberately independent of ``polybanking.platforms.epayment.report``: the reader is checked against
files made here, never against its own writer.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

#: The project's shared sample, beside the repository (``../shared``); a worktree finds it in /work.
_CANDIDATES = [
    Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "postfinance-report.csv",
    Path("/work/shared/fixtures/postfinance-report.csv"),
]
FIXTURE = next((path for path in _CANDIDATES if path.exists()), _CANDIDATES[0])

HEADER = (
    "Id;REF;ORDER;STATUS;LIB;ACCEPT;NCID;NCSTER;PAYDATE;CIE;FACNAME1;COUNTRY;TOTAL;CUR;METHOD;BRAND;CARD;"
    "EXPDATE;UID;STRUCT;FILEID;ACTION;TICKET;DESC;SHIP;TAX;USERID;MERCHREF;REFID;REFKIND;ECI;CCCTY;IPCTY;"
    "CVCCHECK;AAVCHECK;VC;BATCHREF;OWNER;ALIAS;FRAUD_TYPE;BINCARD;REC_IPADDR;PAYDATETIME;ORDERDATETIME;"
    "SUBBRAND"
).split(";")


@dataclass
class Line:
    """One report line; ``total`` as PostFinance writes it (francs, decimal comma)."""

    ref: str
    payid: str = "3100000001"
    payidsub: int = 0
    status: str = "9"
    total: str = "5,50"
    cur: str = "CHF"
    order: date = date(2026, 3, 2)
    owner: str = "Alice Example"

    def values(self) -> dict[str, str]:
        day = f"{self.order.day}/{self.order.month}/{self.order.year}"
        return {
            "Id": f"{self.payid}/{self.payidsub}",
            "REF": self.ref,
            "ORDER": day,
            "STATUS": self.status,
            "LIB": "",
            "PAYDATE": day,
            "COUNTRY": "CH",
            "TOTAL": self.total,
            "CUR": self.cur,
            "METHOD": "CreditCard",
            "BRAND": "VISA",
            "CARD": "XXXXXXXXXXXX1111",
            "OWNER": self.owner,
        }


def csv_bytes(
    lines: list[Line],
    *,
    encoding: str = "utf-8",
    newline: str = "\n",
    bom: bool = False,
    stray: tuple[str, ...] = (),
    header: list[str] | None = None,
) -> bytes:
    """The back office's CSV: ``;`` after every value, optional stray lines before the header."""
    header = header or HEADER
    rows = list(stray) + [";".join(header) + ";"]
    for line in lines:
        values = line.values()
        rows.append("".join(f"{values.get(name, '')};" for name in header))
    data = newline.join(rows) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + data.encode(encoding)


def xml_bytes(lines: list[Line], encoding: str = "utf-8") -> bytes:
    """The XML flavour: ``<DOWNLOAD_REPLY>`` with one ``<PAYMENT .../>`` per line, names upper-cased."""
    from xml.sax.saxutils import quoteattr

    elements = []
    for line in lines:
        values = line.values()
        attributes = " ".join(f"{name.upper()}={quoteattr(value)}" for name, value in values.items())
        elements.append(f"  <PAYMENT {attributes}/>")
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n<DOWNLOAD_REPLY>\n' + "\n".join(elements)
    return (text + "\n</DOWNLOAD_REPLY>\n").encode(encoding)

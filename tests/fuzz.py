"""Hypothesis strategies for hostile input: junk text, PostFinance-like feedback, report files.

Shared by the parser fuzz tests (tests/unit/test_fuzz_parsers.py) and the endpoint fuzz tests
(tests/functional/test_fuzz_endpoints.py). Junk is biased towards what breaks parsers and
databases: NUL and control characters, non-ASCII digits, very long values, almost-valid numbers.
"""

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: Enough examples to find the classics, few enough for CI (both passes well under 10 minutes);
#: PB_FUZZ_EXAMPLES=5000 for a longer hunt.
FUZZ = settings(
    max_examples=int(os.environ.get("PB_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TRICKY = [
    "", " ", "0", "-1", "1e3", "1_000", "+15", "15.", ".5", "15.00", "15,50", "٣", "１２", "\x00", "9\x00",
    "NaN", "inf", "99999999999999999999999", "\ud7ff", "é", "𝟗", "%00", "%ff", "<script>", "' OR 1=1 --",
    ";", "=", "!!", "??", "\r\n", "\t", "x" * 300, "9" * 40,
]  # fmt: skip

junk_text = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=1200),
    st.from_regex(r"[0-9]{1,20}(\.[0-9]{0,6})?", fullmatch=True),
)

FEEDBACK_NAMES = [
    "ORDERID", "orderID", "STATUS", "AMOUNT", "amount", "CURRENCY", "currency", "PAYID", "PAYIDSUB",
    "BRAND", "CARDNO", "NCERROR", "PM", "ACCEPTANCE", "SHASIGN", "LANGUAGE", "TRXDATE", "IP",
]  # fmt: skip
feedback_names = st.one_of(st.sampled_from(FEEDBACK_NAMES), st.text(max_size=12))

#: (name, value) pairs as a web framework hands them over: mixed-case names, repeats possible.
feedback_params = st.lists(st.tuples(feedback_names, junk_text), max_size=14)

# PostFinance's transaction report (PROTOCOL §8): structure right, cells junk, encodings varied.
REPORT_HEADER = (
    "Id;REF;ORDER;STATUS;LIB;ACCEPT;NCID;NCSTER;PAYDATE;CIE;FACNAME1;COUNTRY;TOTAL;CUR;METHOD;BRAND;CARD;"
    "EXPDATE;UID;STRUCT;FILEID;ACTION;TICKET;DESC;SHIP;TAX;USERID;MERCHREF;REFID;REFKIND;ECI;CCCTY;IPCTY;"
    "CVCCHECK;AAVCHECK;VC;BATCHREF;OWNER;ALIAS;FRAUD_TYPE;BINCARD;REC_IPADDR;PAYDATETIME;ORDERDATETIME;"
    "SUBBRAND;"
)
report_cell = st.one_of(
    junk_text.map(lambda text: text.replace(";", ",").replace("\n", " ").replace("\r", " ")),
    st.from_regex(r"[0-9]{1,6},[0-9]{2}", fullmatch=True),  # TOTAL with a decimal comma
    st.from_regex(r"[0-9]{2}/[0-9]{2}/[0-9]{4}", fullmatch=True),  # dates
    st.from_regex(r"[0-9]{1,10}/[0-9]{1,2}", fullmatch=True),  # Id = PAYID/PAYIDSUB
    st.sampled_from(["polybanking-1", "polybanking-999999", "other-1", "9", "5", "CHF", "EUR"]),
)


@st.composite
def report_csv(draw) -> bytes:
    """A CSV report file: maybe stray lines first, a header (maybe shuffled or cut), junk rows."""
    header = REPORT_HEADER.rstrip(";").split(";")
    if draw(st.booleans()):
        header = draw(st.permutations(header))[: draw(st.integers(1, len(header)))]
    lines = draw(st.lists(junk_text.map(lambda t: t.replace("\n", " ")), max_size=2))  # stray lines
    lines.append(";".join(header) + ";")
    for _ in range(draw(st.integers(0, 6))):
        width = draw(st.integers(0, len(header) + 2))
        lines.append(";".join(draw(st.lists(report_cell, min_size=width, max_size=width))) + ";")
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
    return text.encode(encoding, "replace")


@st.composite
def report_xml(draw) -> bytes:
    """An XML report: <DOWNLOAD_REPLY> with <PAYMENT .../> elements whose attributes are junk."""
    names = ["ID", "REF", "ORDER", "STATUS", "TOTAL", "CUR", "PAYDATE", "BRAND", "CARD"]
    payments = []
    for _ in range(draw(st.integers(0, 4))):
        attributes = draw(st.dictionaries(st.sampled_from(names), report_cell, max_size=len(names)))
        escaped = (
            f'{name}="{value.replace("&", "&amp;").replace("<", "&lt;").replace(chr(34), "&quot;")}"'
            for name, value in attributes.items()
        )
        payments.append(f"<PAYMENT {' '.join(escaped)}/>")
    body = f"<?xml version='1.0'?><DOWNLOAD_REPLY>{''.join(payments)}</DOWNLOAD_REPLY>"
    return draw(
        st.sampled_from([body, body[: len(body) // 2], body.replace("PAYMENT", "PAYMENT\x00")])
    ).encode("utf-8", "replace")


#: Whatever an admin might upload as a report: CSV, XML, or plain junk bytes.
report_files = st.one_of(report_csv(), report_xml(), st.binary(max_size=2000))

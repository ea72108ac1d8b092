"""Fuzzing the pure parsers and signature checks with Hypothesis (issue 8, hostile input).

Each parser in ``PARSERS`` gets junk from its strategy and may only answer or refuse with its own
error; any other exception is a bug (it would be a 500 on the endpoint that calls it).

Adding a parser: append one ``ParserTarget`` below (a strategy from tests/fuzz.py, the function,
the only exceptions it may raise).
"""

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from polybanking.platforms.epayment import feedback as pf
from polybanking.platforms.epayment import report
from polybanking.platforms.epayment.sha import ALGORITHMS, DEFAULT_SHA_OUT_KEYS, check_sha, compute_sha
from polybanking.platforms.epayment.statuses import is_valid_code
from polybanking.signing import check_sign, compute_sign

from ..fuzz import FUZZ, REPORT_HEADER, feedback_params, junk_text, report_csv, report_files, report_xml
from ..website import postfinance_sha, website_sign


@dataclass(frozen=True)
class ParserTarget:
    name: str
    strategy: st.SearchStrategy
    parse: Callable[[Any], Any]
    refusals: tuple[type[Exception], ...]


def parse_feedback(params):
    return pf.parse(pf.normalise(params))


def parse_report(data: bytes):
    return list(report.iter_report(io.BytesIO(data)))


PARSERS = [
    ParserTarget("feedback", feedback_params, parse_feedback, (pf.FeedbackError,)),
    ParserTarget("report", report_files, parse_report, (report.ReportError,)),
]


@pytest.mark.parametrize("target", PARSERS, ids=[target.name for target in PARSERS])
def test_parser_answers_or_refuses_cleanly(target):
    @FUZZ
    @given(target.strategy)
    def run(data):
        with contextlib.suppress(target.refusals):
            target.parse(data)

    run()


@FUZZ
@given(feedback_params)
def test_parsed_feedback_is_within_bounds(params):
    try:
        report = parse_feedback(params)
    except pf.FeedbackError:
        return
    assert report.order_id
    assert is_valid_code(report.status)
    assert report.pay_id == "" or report.pay_id.isdigit()
    assert 0 <= report.pay_id_sub < 10**9
    assert report.amount_cents is None or 0 <= report.amount_cents < 10**17
    assert len(report.pay_id) <= 32 and len(report.brand) <= 64 and len(report.card) <= 64


@FUZZ
@given(st.integers(0, 10**15 - 1), st.sampled_from(["{f}", "{f}.{c:02d}", "{f}.{c:02d}00"]))
def test_amount_round_trips(cents, shape):
    francs, rest = divmod(cents, 100)
    if shape == "{f}" and rest:
        shape = "{f}.{c:02d}"
    assert pf.amount_to_cents(shape.format(f=francs, c=rest)) == cents


@FUZZ
@given(junk_text)
def test_amount_junk_is_none_or_cents(text):
    cents = pf.amount_to_cents(text)
    assert cents is None or (isinstance(cents, int) and cents >= 0)


# PolyBanking signature (PROTOCOL §1) ------------------------------------------------------------

params_strategy = st.dictionaries(junk_text, junk_text, max_size=6)


def escaped(text: str) -> str:
    return text.replace(";", "!!").replace("=", "??")


@FUZZ
@given(junk_text, params_strategy)
def test_signature_matches_the_protocol_text_and_checks(secret, params):
    signature = compute_sign(secret, params)
    assert signature == website_sign(secret, params)
    assert check_sign(secret, params, signature)
    assert check_sign(secret, params, signature.upper())


@FUZZ
@given(junk_text, params_strategy, st.data())
def test_signature_refuses_any_change(secret, params, data):
    assume(params)
    signature = compute_sign(secret, params)
    name = data.draw(st.sampled_from(sorted(params)))
    changed = {**params, name: params[name] + data.draw(st.sampled_from(["x", "0", " ", "é"]))}
    assert not check_sign(secret, changed, signature)
    other_secret = secret + "x"
    assert not check_sign(other_secret, params, signature)
    extra = data.draw(junk_text)
    if escaped(extra) not in {escaped(n) for n in params}:
        assert not check_sign(secret, {**params, extra: ""}, signature)


@FUZZ
@given(junk_text, params_strategy, st.one_of(junk_text, st.none(), st.binary().map(lambda b: b.hex())))
def test_signature_check_never_raises_on_junk(secret, params, signature):
    assert check_sign(secret, params, signature) in (True, False)


# PostFinance SHA-IN / SHA-OUT (PROTOCOL §4) -----------------------------------------------------


@FUZZ
@given(
    st.dictionaries(st.text(min_size=1, max_size=10), junk_text, max_size=8),
    junk_text,
    st.sampled_from(ALGORITHMS),
)
def test_sha_matches_the_protocol_text_and_checks(params, passphrase, algorithm):
    upper = {}
    for name, value in params.items():
        upper.setdefault(name.upper(), value)  # PostFinance never sends one name twice
    digest = compute_sha(upper, passphrase, algorithm)
    assert digest == postfinance_sha(upper, passphrase, algorithm)
    assert check_sha(upper, digest, passphrase, algorithm)
    assert check_sha(upper, digest.lower(), passphrase, algorithm)


@FUZZ
@given(feedback_params, junk_text, st.sampled_from(ALGORITHMS))
def test_sha_out_check_never_raises_and_refuses_junk_signatures(params, passphrase, algorithm):
    values = pf.normalise(params)
    assert pf.verify(values, "passphrase", algorithm, DEFAULT_SHA_OUT_KEYS) in (True, False)
    expected = compute_sha(values, "passphrase", algorithm, DEFAULT_SHA_OUT_KEYS)
    assert check_sha(values, expected, "passphrase", algorithm, DEFAULT_SHA_OUT_KEYS)
    assume(values.get("SHASIGN", "").strip().upper() != expected)
    assert not pf.verify(values, "passphrase", algorithm, DEFAULT_SHA_OUT_KEYS)


# The report strategies wait for the report parser (issue 6); they must make what they claim -------


@settings(FUZZ, max_examples=30)
@given(report_csv())
def test_report_csv_strategy_makes_a_header_line(data):
    names = set(REPORT_HEADER.rstrip(";").split(";"))
    text = data.decode("utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else data.decode("latin-1")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert any(line.endswith(";") and set(line[:-1].split(";")) <= names for line in lines)


@settings(FUZZ, max_examples=30)
@given(report_xml())
def test_report_xml_strategy_makes_download_replies(data):
    assert data.startswith(b"<?xml version='1.0'?><DOWNL")  # complete, or cut short on purpose

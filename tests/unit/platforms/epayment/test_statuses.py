"""PROTOCOL §5: the status table, word for word; good is 5 or 9; unknown codes never fail."""

import pytest

from polybanking.platforms.epayment.statuses import GOOD_STATUSES, STATUS_TEXT, is_good, status_text

#: Copied from PROTOCOL §5: the original PolyBanking's texts, spelling included (46 is PostFinance's).
TABLE = """
0 Invalid or incomplete · 1 Cancelled by customer · 2 Authorisation declined · 4 Order stored ·
40 Stored waiting external result · 41 Waiting for client payment · 46 Waiting authentication ·
5 Authorised · 50 Authorized waiting external result · 51 Authorisation waiting · 52 Authorisation not
known · 55 Standby · 56 OK with scheduled payments · 57 Not OK with scheduled payments ·
59 Authoris. to be requested manually · 6 Authorised and cancelled · 61 Author. deletion waiting ·
62 Author. deletion uncertain · 63 Author. deletion refused · 64 Authorised and cancelled ·
7 Payment deleted · 71 Payment deletion pending · 72 Payment deletion uncertain · 73 Payment deletion
refused · 74 Payment deleted · 75 Deletion handled by merchant · 8 Refund · 81 Refund pending ·
82 Refund uncertain · 83 Refund refused · 84 Refund · 85 Refund handled by merchant · 9 Payment
requested · 91 Payment processing · 92 Payment uncertain · 93 Payment refused · 94 Refund declined by
the acquirer · 95 Payment handled by merchant · 96 Refund reversed · 99 Being processed.
"""


def _protocol_table() -> dict[str, str]:
    entries = " ".join(TABLE.split()).rstrip(".").split(" · ")
    return dict(entry.split(" ", 1) for entry in entries)


PROTOCOL_STATUSES = _protocol_table()


def test_table_parsed_from_protocol_is_complete():
    assert len(PROTOCOL_STATUSES) == 40
    assert PROTOCOL_STATUSES["52"] == "Authorisation not known"
    assert PROTOCOL_STATUSES["94"] == "Refund declined by the acquirer"


@pytest.mark.parametrize(("code", "text"), sorted(PROTOCOL_STATUSES.items()))
def test_each_status_has_its_exact_text(code, text):
    assert status_text(code) == text


def test_module_table_is_exactly_the_protocol_table():
    assert STATUS_TEXT == PROTOCOL_STATUSES


def test_good_is_exactly_5_and_9():
    assert set(GOOD_STATUSES) == {"5", "9"}
    assert {code for code in PROTOCOL_STATUSES if is_good(code)} == {"5", "9"}


@pytest.mark.parametrize("code", ["50", "51", "59", "91", "95", "99", "0", "", None, "05", "09", " 9"])
def test_nothing_else_is_good(code):
    assert not is_good(code)


@pytest.mark.parametrize("code", ["3", "10", "42", "97", "05", "123", "x"])
def test_unknown_code_is_shown_never_an_error(code):
    assert status_text(code) == f"Unknown ({code})"


@pytest.mark.parametrize("code", ["", None])
def test_no_status_has_no_text(code):
    assert status_text(code) == ""

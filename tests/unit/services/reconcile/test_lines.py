"""What `polybanking compare` prints is read by people: francs, and no Python ``None`` (issue 17)."""

from polybanking.models.reconciliation_item import DIFFERENT, ONLY_POLYBANKING, ONLY_REPORT
from polybanking.services.reconcile.comparison import Item, Side
from polybanking.services.reconcile.runs import item_line


def test_a_payment_never_answered_shows_none_and_francs():
    item = Item(
        ONLY_POLYBANKING,
        "polybanking-7",
        transaction_id=7,
        config_id=1,
        reference="r-7",
        polybanking=Side(None, 100001250, "CHF", None),
    )
    line = item_line(item)
    assert line.endswith("; PAYID none, CHF 1'000'012.50, status none")
    assert "None" not in line and "cents" not in line


def test_differing_amounts_and_payids_are_shown_in_francs():
    item = Item(
        DIFFERENT,
        "polybanking-8",
        ("payid", "amount"),
        report_line=3,
        report=Side("3100000001", 1250, "CHF", "9"),
        transaction_id=8,
        config_id=1,
        reference="r-8",
        polybanking=Side(None, 550, "CHF", "9"),
    )
    line = item_line(item)
    assert "payid 3100000001 in the report, none in PolyBanking" in line
    assert "amount CHF 12.50 in the report, CHF 5.50 in PolyBanking" in line


def test_a_report_line_keeps_its_currency():
    item = Item(ONLY_REPORT, "polybanking-9", report_line=4, report=Side("31", 700, "EUR", "9"))
    assert item_line(item).endswith("; PAYID 31, EUR 7.00, status 9")

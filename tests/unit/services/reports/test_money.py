"""Cents shown as francs, exactly."""

import pytest

from polybanking.services.reports.money import chf, chf_display


@pytest.mark.parametrize(
    ("cents", "plain", "display"),
    [
        (0, "0.00", "0.00"),
        (5, "0.05", "0.05"),
        (550, "5.50", "5.50"),
        (123456, "1234.56", "1'234.56"),
        (100000000001, "1000000000.01", "1'000'000'000.01"),
        (-1999, "-19.99", "-19.99"),
    ],
)
def test_chf(cents, plain, display):
    assert chf(cents) == plain
    assert chf_display(cents) == display


def test_no_float_rounding():
    # 0.1 + 0.2 style errors: summed as floats these would not give 0.30 / 3000000000000000.03.
    assert chf(10 + 20) == "0.30"
    assert chf(300000000000000003) == "3000000000000000.03"

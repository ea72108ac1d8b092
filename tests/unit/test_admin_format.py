"""Money and principals as the admin pages use them."""

from types import SimpleNamespace

from pyramid.authorization import Authenticated, Everyone

from polybanking.security import principals_of
from polybanking.views.admin import chf


def test_chf_has_two_decimals_and_swiss_grouping():
    assert chf(0) == "CHF 0.00"
    assert chf(5) == "CHF 0.05"
    assert chf(1250) == "CHF 12.50"
    assert chf(123456789) == "CHF 1'234'567.89"
    assert chf(-150) == "CHF -1.50"
    assert chf(None) == ""


def test_principals():
    assert principals_of(None) == [Everyone]
    user = SimpleNamespace(id=7, is_superuser=False, is_staff=True)
    assert principals_of(user) == [Everyone, Authenticated, "user:7", "role:staff"]
    root = SimpleNamespace(id=1, is_superuser=True, is_staff=False)
    assert "role:superuser" in principals_of(root)

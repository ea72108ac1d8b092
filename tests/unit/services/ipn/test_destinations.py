"""Which addresses an IPN may go to (issue 16): public unicast only, whatever the spelling."""

import pytest

from polybanking.services.ipn.destinations import is_public, url_problem


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "not an address",
    ],
)
def test_private_loopback_and_reserved_addresses_are_not_public(address):
    assert is_public(address) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "193.5.216.100", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses(address):
    assert is_public(address) is True


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6543/admin/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::1]:8080/",
        "https://localhost/",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_a_url_on_a_private_address_is_refused_unless_allowed(url):
    assert "public address" in url_problem(url, allow_private=False)
    assert url_problem(url, allow_private=True) == ""


def test_public_and_unresolvable_urls_are_accepted_when_saved():
    """A name that does not resolve yet is checked again at every attempt, on the address used."""
    assert url_problem("https://8.8.8.8/ipn", allow_private=False) == ""
    assert url_problem("https://no-such-shop.invalid/ipn", allow_private=False) == ""

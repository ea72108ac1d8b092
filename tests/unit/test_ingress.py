"""The door (polybanking/ingress.py): whose X-Forwarded-* is believed, and which bodies are refused."""

import ipaddress

import pytest

from polybanking.ingress import (
    DEFAULT_MAX_BODY,
    UPLOAD_FORM_SLACK,
    Ingress,
    apply_forwarded,
    oversized,
    parse_address,
    parse_networks,
    parse_size,
)
from polybanking.settings import SettingsError

TRUSTED = parse_networks("k", "127.0.0.1 10.0.0.0/8 ::1")


@pytest.mark.parametrize(
    ("text", "size"),
    [("1048576", 1048576), ("512KB", 512 * 1024), ("1MiB", 1024**2), ("2m", 2 * 1024**2), ("1 GB", 1024**3)],
)
def test_parse_size(text, size):
    assert parse_size("polybanking.max_body", text, 7) == size


@pytest.mark.parametrize("text", ["0", "-1", "lots", "1.5MB", "1TB", "1e6", "١٢"])
def test_parse_size_refuses_junk_naming_the_key(text):
    with pytest.raises(SettingsError) as caught:
        parse_size("polybanking.max_body", text, 7)
    assert caught.value.key == "polybanking.max_body"


def test_parse_size_default():
    assert parse_size("k", None, 7) == 7
    assert parse_size("k", "  ", 7) == 7


def test_parse_networks():
    assert parse_networks("k", "127.0.0.1, 10.0.0.0/8 ::1") == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert parse_networks("k", "") == ()
    with pytest.raises(SettingsError) as caught:
        parse_networks("polybanking.trusted_proxies", "127.0.0.1 nginx.local")
    assert caught.value.key == "polybanking.trusted_proxies" and "nginx.local" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("1.2.3.4", "1.2.3.4"),
        (" 1.2.3.4:5678 ", "1.2.3.4"),
        ("[2001:db8::1]:80", "2001:db8::1"),
        ("::1", "::1"),
    ],
)
def test_parse_address(text, address):
    assert parse_address(text) == ipaddress.ip_address(address)


@pytest.mark.parametrize("text", ["", "unknown", "1.2.3", "[::1", "<script>", "1.2.3.4.5"])
def test_parse_address_junk(text):
    assert parse_address(text) is None


def environ(peer: str, **headers) -> dict:
    env = {"REMOTE_ADDR": peer, "wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1:6543"}
    env.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    return env


def test_untrusted_peer_headers_are_dropped_and_ignored():
    env = environ(
        "203.0.113.9", x_forwarded_for="1.1.1.1", x_forwarded_proto="https", x_forwarded_host="evil"
    )
    apply_forwarded(env, TRUSTED)
    assert env["REMOTE_ADDR"] == "203.0.113.9"
    assert env["wsgi.url_scheme"] == "http" and env["HTTP_HOST"] == "127.0.0.1:6543"
    assert not any(name.startswith("HTTP_X_FORWARDED") for name in env)


def test_no_trusted_proxies_means_headers_dropped_even_from_loopback():
    env = environ("127.0.0.1", x_forwarded_for="1.1.1.1", forwarded="for=1.1.1.1", x_real_ip="1.1.1.1")
    apply_forwarded(env, ())
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert {"HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"}.isdisjoint(env)


def test_trusted_proxy_gives_the_client_scheme_and_host():
    env = environ(
        "127.0.0.1",
        x_forwarded_for="198.51.100.7",
        x_forwarded_proto="https",
        x_forwarded_host="pay.example.org",
    )
    apply_forwarded(env, TRUSTED)
    assert env["REMOTE_ADDR"] == "198.51.100.7"
    assert env["wsgi.url_scheme"] == "https"
    assert env["HTTP_HOST"] == "pay.example.org"
    assert "HTTP_X_FORWARDED_FOR" not in env


def test_client_made_up_entries_left_of_the_first_untrusted_hop_are_ignored():
    # The client sent "X-Forwarded-For: 127.0.0.1" itself; nginx appended its real address, then an
    # inner proxy (10.0.0.5) appended nginx's. The client is the first untrusted from the right.
    env = environ("10.0.0.5", x_forwarded_for="127.0.0.1, 198.51.100.7, 10.0.0.9")
    apply_forwarded(env, TRUSTED)
    assert env["REMOTE_ADDR"] == "198.51.100.7"


def test_junk_hop_stops_at_the_last_trusted_address():
    env = environ("127.0.0.1", x_forwarded_for="198.51.100.7, not-an-ip")
    apply_forwarded(env, TRUSTED)
    assert env["REMOTE_ADDR"] == "127.0.0.1"


@pytest.mark.parametrize("proto", ["ftp", "javascript", ""])
def test_unknown_proto_and_bad_host_are_ignored(proto):
    env = environ("127.0.0.1", x_forwarded_proto=proto, x_forwarded_host="a b/c")
    apply_forwarded(env, TRUSTED)
    assert env["wsgi.url_scheme"] == "http" and env["HTTP_HOST"] == "127.0.0.1:6543"


def test_oversized():
    assert oversized({"CONTENT_LENGTH": "100"}, 100) is None
    assert oversized({}, 100) is None
    assert oversized({"CONTENT_LENGTH": "101"}, 100).status_int == 413
    assert oversized({"CONTENT_LENGTH": "99999999999999999999999"}, 100).status_int == 413
    assert oversized({"CONTENT_LENGTH": "-1"}, 100).status_int == 400
    assert oversized({"CONTENT_LENGTH": "١٠"}, 100).status_int == 400
    assert oversized({"HTTP_TRANSFER_ENCODING": "chunked"}, 100).status_int == 411


def test_ingress_settings():
    ingress = Ingress.from_settings({})
    assert ingress.max_body == DEFAULT_MAX_BODY
    assert ingress.max_upload == 100 * 1024**2 + UPLOAD_FORM_SLACK  # reconcile.upload_max_mb's default
    assert (
        Ingress.from_settings({"reconcile.upload_max_mb": "5"}).max_upload == 5 * 1024**2 + UPLOAD_FORM_SLACK
    )
    assert ingress.trusted_proxies == ()
    ingress = Ingress.from_settings({"polybanking.max_body": "2KB", "polybanking.max_upload": "1MB"})
    assert ingress.limit_for("/paiements/start/") == 2048
    assert ingress.limit_for("/admin/reconciliation/new") == 1024**2
    assert ingress.limit_for("/admin/reports/upload") == 2048  # the form limit, at most max_body
    assert ingress.limit_for("/admin/login") == 2048
    assert Ingress.from_settings({}).limit_for("/admin/login") == 64 * 1024
    assert Ingress.from_settings({}).limit_for("/api/transactions/") == DEFAULT_MAX_BODY
    with pytest.raises(SettingsError) as caught:
        Ingress.from_settings({"polybanking.max_body": "1MB", "polybanking.max_form": "2MB"})
    assert caught.value.key == "polybanking.max_form"
    with pytest.raises(SettingsError) as caught:
        Ingress.from_settings({"polybanking.max_body": "2MB", "polybanking.max_upload": "1MB"})
    assert caught.value.key == "polybanking.max_upload"

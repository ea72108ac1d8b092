"""An IPN attempt in words (issue 17): administrators read "could not connect", not a urllib3 repr."""

import pytest

from polybanking.services.ipn.words import attempt_in_words

REFUSED = (
    "ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /ipn "
    "(Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f>: Failed to establish "
    "a new connection: [Errno 111] Connection refused'))"
)
UNKNOWN_HOST = (
    "ConnectionError: HTTPSConnectionPool(host='shop.invalid', port=443): Max retries exceeded "
    "(Caused by NameResolutionError(\"<HTTPSConnection object>: Failed to resolve 'shop.invalid'\"))"
)
TLS = "could not connect securely (TLS certificate or protocol error)"
REDIRECT = "answered HTTP 301 (a redirect, which is not followed: the IPN URL must answer itself)"


@pytest.mark.parametrize(
    ("http_status", "error", "answer", "duration_ms", "words"),
    [
        (None, REFUSED, "", 3, "could not connect: connection refused"),
        (None, UNKNOWN_HOST, "", 40, "could not connect: the host name is unknown (DNS)"),
        (None, "ConnectTimeout: Pool()", "", 10004, "could not connect within 10 s (timed out)"),
        (None, "ReadTimeout: HTTPSConnectionPool(...)", "", 10012, "no answer within 10 s (timed out)"),
        (None, "ReadTimeout: …", "", 300, "no answer within 0.3 s (timed out)"),
        (None, "SSLError: certificate verify failed", "", 12, TLS),
        (None, "no IPN URL configured", "", 0, "no IPN URL configured"),
        (500, "", "Internal\nServer   Error", 12, 'answered HTTP 500 with "Internal Server Error"'),
        (500, "", "", 12, "answered HTTP 500"),
        (301, "", "", 12, REDIRECT),
        (200, "", "ok", 12, "answered HTTP 200"),
        (502, "", "x" * 500, 12, 'answered HTTP 502 with "' + "x" * 119 + '…"'),
    ],
)  # fmt: skip
def test_in_words(http_status, error, answer, duration_ms, words):
    assert attempt_in_words(http_status, error, answer, duration_ms) == words

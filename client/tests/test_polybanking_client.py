"""The client library on its own: signatures, IPN checks, how it talks HTTP, how it fails.

These tests import nothing from the gateway (the package must work installed alone); the
PROTOCOL's test vectors are the reference.
"""

import base64
import socket
from datetime import datetime

import pytest
import requests
from polybanking_client import (
    ApiError,
    AuthenticationError,
    BadRequest,
    InvalidIPN,
    IpnCheck,
    PaymentRefused,
    PolyBanking,
    PolyBankingError,
    StartResult,
    TransactionNotFound,
    TransportError,
    compute_sign,
    reference_path,
)
from polybanking_client.signing import webhook_signature

IPN_VECTOR = {
    "config": "3",
    "reference": "abc",
    "postfinance_status": "9",
    "postfinance_status_good": "True",
    "last_update": "2026-11-27 10:15:00+00:00",
    "sign": "a1f677efe22440510bca01e6739c88bc4f8d093c2da071267cb8be46851f6ffa2f1ebf68296555a159525f8c84644"
    "242efb410cdddc1a423dc8b4ec298021c60",
}


def client(server="http://127.0.0.1:9", config_id=3, **options) -> PolyBanking:
    return PolyBanking(server, config_id, "request-key", "ipn-secret", "api-key", **options)


# --- PROTOCOL §1 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "params", "signature"),
    [
        (
            "s3cret",
            {"amount": "550", "reference": "order-42", "extra_data": "", "config_id": "1"},
            "4c770c6e8b539163dd4d774938f137ed329239a490861da72ee78b9503735c9a295edaca399a9a6043ded3e5b86b2e168d"
            "6197427ae18c1041328c059aa2b103",
        ),
        (
            "k€y=;",
            {"amount": "1250", "reference": "inv;2026=07", "extra_data": "Café; size=XL", "config_id": "12"},
            "4cddf160831224579ea5e75daed7e61ed9f544d5244fb0e2dd63cdd7641d9e249d7290480ee1bfc5cab986ce194db1de"
            "b2096678e67dade04104a65274a708ec",
        ),
        (
            "ipn-secret",
            {k: v for k, v in IPN_VECTOR.items() if k != "sign"},
            IPN_VECTOR["sign"],
        ),
    ],
)
def test_signature_vectors(secret, params, signature):
    assert compute_sign(secret, params) == signature
    assert client().compute_sign(secret, params) == signature  # the original's method


# --- check_ipn (PROTOCOL §6) ----------------------------------------------------------------------


@pytest.mark.parametrize("config_id", [3, "3"])
def test_valid_ipn(config_id):
    result = client(config_id=config_id).check_ipn(IPN_VECTOR)
    assert result == (True, "", "abc", "9", True, datetime(2026, 11, 27, 10, 15))
    assert isinstance(result, IpnCheck) and result.reference == "abc"
    is_ok, message, reference, status, status_good, last_update = result  # the original's tuple
    assert last_update.tzinfo is None  # naive UTC, as the original returned


def test_ipn_with_status_not_good():
    fields = {k: v for k, v in IPN_VECTOR.items() if k != "sign"} | {
        "postfinance_status": "2",
        "postfinance_status_good": "False",
    }
    fields["sign"] = compute_sign("ipn-secret", fields)
    assert client().check_ipn(fields) == (True, "", "abc", "2", False, datetime(2026, 11, 27, 10, 15))


@pytest.mark.parametrize(
    "change",
    [
        {"sign": "0" * 128},
        {"sign": ""},
        {"sign": IPN_VECTOR["sign"].upper()},
        {"postfinance_status": "5"},  # tampered after signing
        {"reference": "abd"},
        {"extra": "field"},  # signed fields are all the fields but sign
    ],
)
def test_ipn_with_a_bad_signature_is_sign(change):
    assert client().check_ipn(IPN_VECTOR | change) == (False, "SIGN", None, None, None, None)


def test_ipn_without_sign_or_fields_is_sign():
    without_sign = {k: v for k, v in IPN_VECTOR.items() if k != "sign"}
    assert client().check_ipn(without_sign).message == "SIGN"
    partial = {"config": "3", "reference": "abc"}
    assert client().check_ipn(partial | {"sign": compute_sign("ipn-secret", partial)}).message == "SIGN"
    assert client().check_ipn({}).message == "SIGN"


def test_ipn_of_another_config_is_config():
    other = {k: v for k, v in IPN_VECTOR.items() if k != "sign"} | {"config": "4"}
    other["sign"] = compute_sign("ipn-secret", other)
    assert client().check_ipn(other) == (False, "CONFIG", None, None, None, None)


def test_ipn_errors_raise_when_asked():
    with pytest.raises(InvalidIPN) as error:
        client(raise_errors=True).check_ipn(IPN_VECTOR | {"sign": "x"})
    assert error.value.reason == "SIGN" and isinstance(error.value, PolyBankingError)
    other = {k: v for k, v in IPN_VECTOR.items() if k != "sign"} | {"config": "4"}
    with pytest.raises(InvalidIPN) as error:
        client(raise_errors=True).check_ipn(other | {"sign": compute_sign("ipn-secret", other)})
    assert error.value.reason == "CONFIG"


# --- what goes on the wire ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "segment"),
    [
        ("order-42", "order-42"),
        ("a/b", "a%2Fb"),
        ("100%", "100%25"),
        ("..", "%2E%2E"),
        ("x y?z#w&v=1", "x%20y%3Fz%23w%26v%3D1"),
        ("Café", "Caf%C3%A9"),
    ],
)
def test_reference_path(reference, segment):
    assert reference_path(reference) == segment


def test_requests_are_signed_forms_posted_to_the_protocols_paths(gateway):
    api = client(gateway.url + "/")
    gateway.body = {"status": "OK", "url": "http://gw/paiements/go/abc"}
    assert api.new_transaction(1250, "inv;2026=07", "Café; size=XL") == ("OK", "http://gw/paiements/go/abc")
    gateway.body = {"result": "ok", "data": {"reference": "a/b"}}
    assert api.get_transactions() == {"reference": "a/b"}
    api.get_transaction("a/b")
    api.get_transaction_logs("..")

    (start_path, start), (list_path, listing), (detail_path, detail), (logs_path, logs) = gateway.requests
    assert start_path == "/paiements/start/"
    signed = {"amount": "1250", "reference": "inv;2026=07", "extra_data": "Café; size=XL", "config_id": "3"}
    assert start == signed | {"sign": compute_sign("request-key", signed)}
    assert (list_path, listing) == (
        "/api/transactions/",
        {"config_id": "3", "secret": "api-key", "max_transaction": "100"},
    )
    assert (detail_path, detail) == ("/api/transactions/a%2Fb/", {"config_id": "3", "secret": "api-key",
                                                                   "reference": "a/b"})  # fmt: skip
    # requests may undo %2E, but the ".." segment reaches the server as it is, never collapsed.
    assert logs_path in ("/api/transactions/%2E%2E/logs/", "/api/transactions/../logs/")
    assert logs["reference"] == ".."


#: The original library's public methods, exactly (its ``new_transation`` was only a docstring's typo).
ORIGINAL_METHODS = {"compute_sign", "new_transaction", "check_ipn", "get_transactions", "get_transaction",
                    "get_transaction_logs"}  # fmt: skip
#: What is new, documented in the README: the IPN's Standard Webhooks headers, the JSON IPN,
#: refunds, and closing the session.
NEW_METHODS = {"check_ipn_headers", "check_ipn_json", "refund", "close"}


def test_the_methods_are_the_originals_and_the_documented_new_ones_only():
    public = {
        name for name in dir(PolyBanking) if not name.startswith("_") and callable(getattr(PolyBanking, name))
    }
    assert public == ORIGINAL_METHODS | NEW_METHODS
    assert not hasattr(PolyBanking, "new_transation")


def test_one_session_is_reused_across_calls(gateway):
    with client(gateway.url) as api:
        for _ in range(4):
            api.get_transactions()
    assert len(gateway.requests) == 4
    assert len(gateway.connections) == 1  # one keep-alive connection: the session was reused


def test_every_request_has_a_timeout(gateway):
    seen = []

    class Recording(requests.Session):
        def request(self, method, url, **kwargs):
            seen.append(kwargs.get("timeout"))
            return super().request(method, url, **kwargs)

    gateway.body = {"status": "OK", "url": "u"}
    api = client(gateway.url, session=Recording(), timeout=4.5)
    api.new_transaction(1, "r")
    api.get_transactions()
    api.get_transaction("r")
    api.get_transaction_logs("r")
    assert seen == [4.5] * 4


def test_a_gateway_that_does_not_answer_times_out(gateway):
    gateway.delay = 2
    api = client(gateway.url, timeout=0.2)
    assert api.get_transactions() is None
    assert api.new_transaction(1, "r") == ("ERROR", "")
    with pytest.raises(TransportError):
        client(gateway.url, timeout=0.2, raise_errors=True).get_transaction("r")


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_an_unreachable_gateway_is_error_none_or_transport_error():
    api = client(_closed_port())
    assert api.new_transaction(1, "r") == ("ERROR", "")
    assert api.get_transactions() is None
    assert api.get_transaction("r") is None
    assert api.get_transaction_logs("r") is None
    with pytest.raises(TransportError):
        client(_closed_port(), raise_errors=True).new_transaction(1, "r")


@pytest.mark.parametrize("body", [b"<html>proxy error</html>", b"", b"[1, 2]", b'{"status": 5}'])
def test_a_start_answer_that_is_not_one_is_error(gateway, body):
    gateway.body = body
    assert client(gateway.url).new_transaction(1, "r") == ("ERROR", "")
    with pytest.raises(TransportError):
        client(gateway.url, raise_errors=True).new_transaction(1, "r")


@pytest.mark.parametrize("word", ["KEY_ERROR", "AMOUNT_ERROR", "REFERENCE_ERROR", "CONFIG_ERROR", "ERROR"])
def test_a_refused_start_is_its_word_or_payment_refused(gateway, word):
    gateway.status, gateway.body = 400, {"status": word, "url": ""}
    result = client(gateway.url).new_transaction(1, "r")
    assert result == (word, "") and isinstance(result, StartResult)
    with pytest.raises(PaymentRefused) as error:
        client(gateway.url, raise_errors=True).new_transaction(1, "r")
    assert error.value.status == word


@pytest.mark.parametrize(
    ("status", "exception"),
    [(400, BadRequest), (403, AuthenticationError), (404, TransactionNotFound), (500, ApiError)],
)
def test_api_errors_are_none_or_typed(gateway, status, exception):
    gateway.status, gateway.body = status, {"result": "error", "error": "what went wrong"}
    api = client(gateway.url)
    assert api.get_transactions() is None
    assert api.get_transaction("r") is None
    assert api.get_transaction_logs("r") is None
    with pytest.raises(exception) as error:
        client(gateway.url, raise_errors=True).get_transaction("r")
    assert error.value.status_code == status and error.value.message == "what went wrong"
    assert isinstance(error.value, ApiError) and isinstance(error.value, PolyBankingError)


@pytest.mark.parametrize("body", [b"not json", b'{"result": "ok"}', b'{"data": []}', b"null"])
def test_an_api_answer_that_is_not_one_is_none(gateway, body):
    gateway.body = body
    assert client(gateway.url).get_transactions() is None
    with pytest.raises(PolyBankingError):
        client(gateway.url, raise_errors=True).get_transactions()


# --- Standard Webhooks headers -------------------------------------------------------------------

SPEC_KEY = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")  # the specification's test vector
SPEC_ID, SPEC_TIME, SPEC_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}'
SPEC_SIGNATURE = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_webhook_signature_reproduces_the_specification_vector():
    assert webhook_signature(SPEC_KEY, SPEC_ID, SPEC_TIME, SPEC_BODY) == SPEC_SIGNATURE


def signed_headers(key: str, body: bytes, timestamp: int, message_id: str = "msg_1") -> dict[str, str]:
    signature = webhook_signature(key.encode(), message_id, str(timestamp), body)
    return {
        "Webhook-Id": message_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": f"v1,{signature}",
    }


def test_check_ipn_headers_accepts_a_fresh_signed_ipn():
    body = b"config=3&reference=abc"
    headers = signed_headers("ipn-secret", body, 1_000_000)
    assert client().check_ipn_headers(headers, body, now=1_000_100)
    # Several signatures (key rotation): any v1 match will do.
    headers["Webhook-Signature"] = "v1,bm9wZQ== " + headers["Webhook-Signature"]
    assert client().check_ipn_headers(headers, body, now=1_000_000)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b"&x=1"),  # body changed
        lambda h, b: ({**h, "Webhook-Id": "msg_2"}, b),  # id changed
        lambda h, b: ({**h, "Webhook-Timestamp": "1000001"}, b),  # time changed
        lambda h, b: ({k: v for k, v in h.items() if k != "Webhook-Signature"}, b),
        lambda h, b: ({**h, "Webhook-Signature": h["Webhook-Signature"].replace("v1,", "v2,")}, b),
        lambda h, b: ({**h, "Webhook-Timestamp": "abc"}, b),
        lambda h, b: ({**h, "Webhook-Signature": "v1,é"}, b),
    ],
)
def test_check_ipn_headers_refuses_tampering(tamper):
    body = b"config=3&reference=abc"
    headers, body = tamper(signed_headers("ipn-secret", body, 1_000_000), body)
    assert not client().check_ipn_headers(headers, body, now=1_000_000)
    with pytest.raises(InvalidIPN):
        client(raise_errors=True).check_ipn_headers(headers, body, now=1_000_000)


def test_check_ipn_headers_refuses_a_replay_and_another_key():
    body = b"config=3"
    assert not client().check_ipn_headers(signed_headers("ipn-secret", body, 1_000_000), body, now=1_000_301)
    assert not client().check_ipn_headers(signed_headers("other", body, 1_000_000), body, now=1_000_000)

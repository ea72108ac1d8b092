"""PROTOCOL §1: every test vector, and what the check refuses."""

import pytest

from polybanking.signing import check_sign, compute_sign

VECTORS = [
    (
        "s3cret",
        {"amount": "550", "reference": "order-42", "extra_data": "", "config_id": "1"},
        "4c770c6e8b539163dd4d774938f137ed329239a490861da72ee78b9503735c9a295edaca399a9a6043ded3e5b86b2e168d6197427ae18c1041328c059aa2b103",
    ),
    (
        "k€y=;",
        {"amount": "1250", "reference": "inv;2026=07", "extra_data": "Café; size=XL", "config_id": "12"},
        "4cddf160831224579ea5e75daed7e61ed9f544d5244fb0e2dd63cdd7641d9e249d7290480ee1bfc5cab986ce194db1deb2096678e67dade04104a65274a708ec",
    ),
    (
        "ipn-secret",
        {
            "config": "3",
            "reference": "abc",
            "postfinance_status": "9",
            "postfinance_status_good": "True",
            "last_update": "2026-11-27 10:15:00+00:00",
        },
        "a1f677efe22440510bca01e6739c88bc4f8d093c2da071267cb8be46851f6ffa2f1ebf68296555a159525f8c84644242efb410cdddc1a423dc8b4ec298021c60",
    ),
]


@pytest.mark.parametrize(("secret", "params", "expected"), VECTORS)
def test_protocol_vectors(secret, params, expected):
    assert compute_sign(secret, params) == expected
    assert check_sign(secret, params, expected)


@pytest.mark.parametrize(("secret", "params", "expected"), VECTORS)
def test_check_refuses_other_signatures(secret, params, expected):
    assert not check_sign(secret, params, None)
    assert not check_sign(secret, params, "")
    assert not check_sign(secret, params, expected[:-1] + ("0" if expected[-1] != "0" else "1"))
    assert not check_sign(secret + "x", params, expected)
    assert not check_sign(secret, {**params, "reference": "other"}, expected)
    assert not check_sign(secret, params, "é" * 128)


def test_upper_case_hex_is_accepted_as_the_same_signature():
    secret, params, expected = VECTORS[0]
    assert check_sign(secret, params, expected.upper())


def test_escaping_keeps_separators_from_colliding():
    # Without escaping, these two would build the same string.
    assert compute_sign("k", {"a": "1;k;b=2"}) != compute_sign("k", {"a": "1", "b": "2"})

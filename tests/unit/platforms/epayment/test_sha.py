"""PROTOCOL §4: SHA-IN / SHA-OUT, every test vector, and what the check refuses."""

import pytest

from polybanking.platforms.epayment.sha import DEFAULT_SHA_OUT_KEYS, check_sha, compute_sha

from ....website import postfinance_sha

PASSPHRASE = "Mysecretsig1875!?"
SHA_IN_PARAMS = {
    "AMOUNT": "1500",
    "CURRENCY": "EUR",
    "LANGUAGE": "en_US",
    "ORDERID": "1234",
    "PSPID": "MyPSPID",
}
SHA_IN_VECTORS = {
    "sha1": "F4CC376CD7A834D997B91598FA747825A238BE0A",
    "sha256": "E019359BAA3456AE5A986B6AABD22CF1B3E09438739E97F17A7F61DF5A11B30F",
    "sha512": "D1CFE8833A297D0922E908B2B44934B09EE966EF1584DC0D696304E07BB58BA7"
    "1973C2383C831D878D8A243BB7D7DFFFBE53CEE21955CDFEF44FE82E551F859D",
}
SHA_OUT_PARAMS = {
    "ACCEPTANCE": "1234",
    "AMOUNT": "15",
    "BRAND": "VISA",
    "CARDNO": "xxxxxxxxxxxx1111",
    "CURRENCY": "EUR",
    "NCERROR": "0",
    "ORDERID": "12",
    "PAYID": "32100123",
    "PM": "CreditCard",
    "STATUS": "9",
}
SHA_OUT_15 = "B209960D5703DD1047F95A0F97655FFE5AC8BD52"
SHA_OUT_15_00 = "8DC2A769700CA4B3DF87FE8E3B6FD162D6F6A5FA"


@pytest.mark.parametrize(("algorithm", "expected"), sorted(SHA_IN_VECTORS.items()))
def test_sha_in_vectors(algorithm, expected):
    assert compute_sha(SHA_IN_PARAMS, PASSPHRASE, algorithm) == expected
    assert check_sha(SHA_IN_PARAMS, expected, PASSPHRASE, algorithm)
    # The independent implementation agrees, so the fixtures can be trusted too.
    assert postfinance_sha(SHA_IN_PARAMS, PASSPHRASE, algorithm) == expected


def test_default_algorithm_is_sha512():
    assert compute_sha(SHA_IN_PARAMS, PASSPHRASE) == SHA_IN_VECTORS["sha512"]


@pytest.mark.parametrize(("amount", "expected"), [("15", SHA_OUT_15), ("15.00", SHA_OUT_15_00)])
def test_sha_out_vectors_hash_amount_as_received(amount, expected):
    params = {**SHA_OUT_PARAMS, "AMOUNT": amount}
    assert compute_sha(params, PASSPHRASE, "sha1", DEFAULT_SHA_OUT_KEYS) == expected
    assert compute_sha(params, PASSPHRASE, "sha1") == expected  # every one of them is on the list
    assert check_sha(params, expected, PASSPHRASE, "sha1", DEFAULT_SHA_OUT_KEYS)


def test_15_and_15_00_differ():
    assert SHA_OUT_15 != SHA_OUT_15_00
    params = {**SHA_OUT_PARAMS, "AMOUNT": "15.00"}
    assert not check_sha(params, SHA_OUT_15, PASSPHRASE, "sha1", DEFAULT_SHA_OUT_KEYS)


def test_empty_values_are_left_out():
    with_empty = {**SHA_IN_PARAMS, "COM": "", "TITLE": ""}
    assert compute_sha(with_empty, PASSPHRASE, "sha1") == SHA_IN_VECTORS["sha1"]
    out = {**SHA_OUT_PARAMS, "ED": "", "CN": ""}
    assert compute_sha(out, PASSPHRASE, "sha1", DEFAULT_SHA_OUT_KEYS) == SHA_OUT_15


def test_names_are_upper_cased():
    mixed = {
        name.lower() if i % 2 else name.title(): value
        for i, (name, value) in enumerate(SHA_IN_PARAMS.items())
    }
    assert set(mixed) != set(SHA_IN_PARAMS)
    for algorithm, expected in SHA_IN_VECTORS.items():
        assert compute_sha(mixed, PASSPHRASE, algorithm) == expected
    out = {"orderID": "12", "amount": "15", "currency": "EUR", "payId": "32100123"}
    out.update(
        {k: v for k, v in SHA_OUT_PARAMS.items() if k not in ("ORDERID", "AMOUNT", "CURRENCY", "PAYID")}
    )
    assert compute_sha(out, PASSPHRASE, "sha1", DEFAULT_SHA_OUT_KEYS) == SHA_OUT_15
    assert check_sha(out, SHA_OUT_15, PASSPHRASE, "sha1", DEFAULT_SHA_OUT_KEYS)


def test_sha_out_ignores_parameters_off_the_list():
    received = {
        **SHA_OUT_PARAMS,
        "LANGUAGE": "en_US",  # on the SHA-IN list, not on the SHA-OUT one
        "myparam": "from PARAMPLUS",
        "UNKNOWNFIELD": "x",
    }
    assert compute_sha(received, PASSPHRASE, "sha1", DEFAULT_SHA_OUT_KEYS) == SHA_OUT_15
    assert check_sha(received, SHA_OUT_15, PASSPHRASE, "sha1", DEFAULT_SHA_OUT_KEYS)
    # Without the list every parameter counts (SHA-IN), so the same parameters hash differently.
    assert compute_sha(received, PASSPHRASE, "sha1") != SHA_OUT_15


def test_allowed_list_restricts_to_its_names():
    only = {"AMOUNT", "ORDERID"}
    expected = postfinance_sha(SHA_OUT_PARAMS, PASSPHRASE, "sha256", keys=only)
    assert compute_sha(SHA_OUT_PARAMS, PASSPHRASE, "sha256", only) == expected
    assert expected == postfinance_sha({"AMOUNT": "15", "ORDERID": "12"}, PASSPHRASE, "sha256")


@pytest.mark.parametrize("name", ["SHASIGN", "shasign", "ShaSign"])
def test_shasign_never_counts(name):
    with_sign = {**SHA_IN_PARAMS, name: "ANYTHING"}
    assert compute_sha(with_sign, PASSPHRASE, "sha1") == SHA_IN_VECTORS["sha1"]
    allowed = DEFAULT_SHA_OUT_KEYS | {"SHASIGN"}
    out = {**SHA_OUT_PARAMS, name: SHA_OUT_15}
    assert compute_sha(out, PASSPHRASE, "sha1", allowed) == SHA_OUT_15
    assert check_sha(out, out[name], PASSPHRASE, "sha1", allowed)


def test_passphrase_matters():
    assert compute_sha(SHA_IN_PARAMS, PASSPHRASE + "x", "sha1") != SHA_IN_VECTORS["sha1"]
    assert not check_sha(SHA_IN_PARAMS, SHA_IN_VECTORS["sha1"], "other", "sha1")


def test_utf8_values_are_hashed_as_utf8():
    params = {"ORDERID": "1", "COM": "Café ünïcødé €"}
    assert compute_sha(params, "pässphrase", "sha512") == postfinance_sha(params, "pässphrase", "sha512")


GOOD = SHA_IN_VECTORS["sha512"]
#: Upper-cases to GOOD: 'ﬀ'.upper() == 'FF' (Unicode case mapping), garbage that must not pass.
LIGATURE = GOOD.lower().replace("ff", "\ufb00")


def test_ligature_garbage_really_upper_cases_to_the_signature():
    assert GOOD.lower() != LIGATURE and LIGATURE.upper() == GOOD


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        " ",
        "0" * 128,
        GOOD[:-1],
        GOOD + "0",
        GOOD[:-1] + ("1" if GOOD[-1] != "1" else "2"),
        SHA_IN_VECTORS["sha1"],  # right passphrase, other algorithm
        "not a signature at all",
        LIGATURE,
        GOOD.replace("F", "\uff26"),  # full-width 'Ｆ'
        GOOD[:20] + "\u00e9" + GOOD[21:],
        GOOD + "\x00",
    ],
)
def test_check_sha_refuses(signature):
    assert not check_sha(SHA_IN_PARAMS, signature, PASSPHRASE, "sha512")


def test_check_sha_refuses_tampered_parameters():
    tampered = {**SHA_IN_PARAMS, "AMOUNT": "1"}
    assert not check_sha(tampered, GOOD, PASSPHRASE)
    added = {**SHA_IN_PARAMS, "ACCEPTURL": "http://evil.example/"}
    assert not check_sha(added, GOOD, PASSPHRASE)


@pytest.mark.parametrize("algorithm", ["md5", "SHA1", "sha384", "", "sha3_512"])
def test_unsupported_algorithm_raises(algorithm):
    with pytest.raises(ValueError, match="unsupported"):
        compute_sha(SHA_IN_PARAMS, PASSPHRASE, algorithm)
    with pytest.raises(ValueError, match="unsupported"):
        check_sha(SHA_IN_PARAMS, GOOD, PASSPHRASE, algorithm)

"""PROTOCOL §2: a website starts a payment; bad input gets a clear answer and changes nothing."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from polybanking.models import Transaction, TransactionLog

from ..website import path_of, start_params, website_sign

START = "/paiements/start/"
REFUSAL_WORDS = {"CONFIG_ERROR", "KEY_ERROR", "AMOUNT_ERROR", "REFERENCE_ERROR", "ERROR"}


def signed(config, fields: dict[str, str], key: str | None = None) -> dict[str, str]:
    """``fields`` as sent, plus a signature over exactly them (PROTOCOL §1)."""
    return {**fields, "sign": website_sign(key or config.key_request, fields)}


def assert_refused(answer, status: str | set[str]) -> None:
    """A 4xx JSON answer with ``url`` "" and the expected word (or one of them)."""
    assert 400 <= answer.status_int < 500, answer.status
    assert answer.content_type == "application/json"
    assert answer.json["url"] == ""
    expected = status if isinstance(status, set) else {status}
    assert answer.json["status"] in expected, answer.json
    assert answer.json["status"] in REFUSAL_WORDS


@pytest.fixture
def refused(testapp, snapshot):
    """POST ``params`` (a dict, or raw bytes), check the refusal, and check nothing changed."""

    def post(params, status, content_type=None):
        before = snapshot()
        kwargs = {"content_type": content_type} if content_type else {}
        answer = testapp.post(START, params=params, expect_errors=True, **kwargs)
        assert_refused(answer, status)
        assert snapshot() == before
        return answer

    return post


def transactions(db):
    def read(session):
        rows = session.scalars(select(Transaction).order_by(Transaction.id)).all()
        return [(t.id, t.config_id, t.reference, t.extra_data, t.amount, t.token) for t in rows]

    return db.run(read)


# --- the accepted request -----------------------------------------------------------------------


def test_ok_answers_an_unguessable_go_url_and_records_the_transaction(
    testapp, make_config, db, settings, platform
):
    config = make_config(platform=platform.name)  # the same answer whichever platform pays
    answer = testapp.post(START, start_params(config, "550", "order-42", extra_data="basket 7"))

    assert answer.status_int == 200
    assert answer.content_type == "application/json"
    assert set(answer.json) == {"status", "url"}
    assert answer.json["status"] == "OK"

    [(tid, config_id, reference, extra, amount, token)] = transactions(db)
    assert (config_id, reference, extra, amount) == (config.id, "order-42", "basket 7", 550)
    assert answer.json["url"] == settings.url(f"/paiements/go/{token}")
    # Unguessable: not the row id, long, and made of URL-safe random characters.
    assert path_of(answer.json["url"]) == f"/paiements/go/{token}"
    assert token != str(tid) and not token.isdigit()
    assert len(token) >= 32

    logs = db.run(lambda s: s.execute(select(TransactionLog.transaction_id, TransactionLog.log_type)).all())
    assert [tuple(row) for row in logs] == [(tid, "created")]
    state = db.run(lambda s: s.scalar(select(Transaction.internal_status)))
    assert state == "cr"
    # The log and the transaction are written together, at one instant, in UTC.
    logged, created = db.run(
        lambda s: s.execute(select(TransactionLog.when, Transaction.creation_date).join(Transaction)).one()
    )
    assert logged == created and created.utcoffset() == timedelta(0)


def test_tokens_differ_between_transactions(testapp, make_config):
    config = make_config()
    urls = {testapp.post(START, start_params(config, reference=f"r{i}")).json["url"] for i in range(5)}
    tokens = {url.rsplit("/", 1)[1] for url in urls}
    assert len(tokens) == 5
    assert not any(token.isdigit() for token in tokens)


def test_amount_at_the_configs_maximum_is_accepted(testapp, make_config):
    config = make_config(max_amount=1000)
    assert testapp.post(START, start_params(config, "1000")).json["status"] == "OK"


def test_same_reference_in_another_config_is_fine(testapp, make_config, db):
    first, second = make_config(), make_config(name="Other shop")
    assert testapp.post(START, start_params(first, reference="inv-1")).json["status"] == "OK"
    answer = testapp.post(START, start_params(second, reference="inv-1"))
    assert answer.status_int == 200 and answer.json["status"] == "OK"
    assert sorted(row[1] for row in transactions(db)) == sorted([first.id, second.id])


@pytest.mark.parametrize(
    "reference",
    [
        "a/b/c",
        "100%",
        "%2F%25",
        "with spaces  inside ",
        "k;v=1;;==",
        "Café ünïcödé ✓ 中文 🎉",
        "x" * 255,
        "?a=b&c=d#frag",
        "..",
    ],
)
def test_references_with_any_characters_are_accepted_when_signed(testapp, make_config, db, reference):
    config = make_config()
    extra = "Café; size=XL & more"
    answer = testapp.post(START, start_params(config, "1250", reference, extra_data=extra))
    assert answer.status_int == 200 and answer.json["status"] == "OK"
    [(_id, _config, stored, stored_extra, amount, _token)] = transactions(db)
    assert (stored, stored_extra, amount) == (reference, extra, 1250)


def test_missing_extra_data_signed_as_empty_is_accepted(testapp, make_config):
    config = make_config()
    params = start_params(config)
    del params["extra_data"]  # the signature was made over extra_data="" (PROTOCOL: may be empty)
    assert testapp.post(START, params).json["status"] == "OK"


# --- junk: each refused with the right word, nothing changed --------------------------------------


@pytest.mark.parametrize(
    ("missing", "status"),
    [
        ("config_id", "CONFIG_ERROR"),
        ("sign", "KEY_ERROR"),
        # Signed over the fields actually sent: the signature of §2 covers all four, so either the
        # signature or the amount/reference check refuses it, never OK.
        ("amount", {"KEY_ERROR", "AMOUNT_ERROR"}),
        ("reference", {"KEY_ERROR", "REFERENCE_ERROR"}),
    ],
)
def test_missing_field_is_refused(make_config, refused, missing, status):
    config = make_config()
    fields = start_params(config, sign=False)
    if missing == "sign":
        refused(fields, status)
        return
    del fields[missing]
    refused(signed(config, fields), status)


@pytest.mark.parametrize(
    ("missing", "status"),
    [("amount", "AMOUNT_ERROR"), ("reference", "REFERENCE_ERROR")],
)
def test_missing_field_signed_as_empty_gets_its_own_word(make_config, refused, missing, status):
    config = make_config()
    fields = start_params(config, sign=False)
    fields[missing] = ""
    params = signed(config, fields)
    del params[missing]
    refused(params, status)


def test_empty_body_is_a_config_error(refused):
    refused({}, "CONFIG_ERROR")


@pytest.mark.parametrize(
    "amount",
    [
        "0",
        "-1",
        "1.5",
        "5.50",
        "1e3",
        "0x10",
        str(10**30),
        "",
        " 5",
        "5 ",
        "+5",
        "５",  # fullwidth digit: str.isdigit() says yes, the protocol says no
        "٥",  # Arabic-Indic digit five
        "abc",
        "NaN",
        "00",
        "1_000",
    ],
)
def test_bad_amount_is_an_amount_error(make_config, refused, amount):
    config = make_config()
    refused(start_params(config, amount), "AMOUNT_ERROR")


def test_amount_above_the_configs_maximum_is_an_amount_error(make_config, refused):
    config = make_config(max_amount=1000)
    refused(start_params(config, "1001"), "AMOUNT_ERROR")


@pytest.mark.parametrize("reference", ["", "x" * 256, "y" * 10_000, "nul\x00byte"])
def test_bad_reference_is_a_reference_error(make_config, refused, reference):
    config = make_config()
    refused(start_params(config, reference=reference), "REFERENCE_ERROR")


def test_duplicate_reference_in_the_same_config_is_a_reference_error(testapp, make_config, refused):
    config = make_config()
    assert testapp.post(START, start_params(config, reference="inv-1")).json["status"] == "OK"
    refused(start_params(config, "990", "inv-1", extra_data="again"), "REFERENCE_ERROR")


def test_extra_data_with_a_nul_character_is_an_error(make_config, refused):
    config = make_config()
    refused(start_params(config, extra_data="a\x00b"), "ERROR")


@pytest.mark.parametrize(
    "config_id",
    ["999999", "0", "-1", "abc", "1.0", " 1", "１", "", "2147483648", "9" * 18, "9" * 40, "1\x00"],
)
def test_unknown_or_non_numeric_config_is_a_config_error(make_config, refused, config_id):
    config = make_config()
    fields = start_params(config, sign=False)
    fields["config_id"] = config_id
    refused(signed(config, fields), "CONFIG_ERROR")


@pytest.mark.parametrize("disabled", [{"active": False}, {"admin_enable": False}])
def test_inactive_or_admin_disabled_config_is_a_config_error(make_config, refused, disabled):
    config = make_config(**disabled)
    refused(start_params(config), "CONFIG_ERROR")


def test_wrong_signature_is_a_key_error(make_config, refused):
    config = make_config()
    params = start_params(config)
    params["sign"] = "0" * 128
    refused(params, "KEY_ERROR")


def test_signature_of_other_fields_is_a_key_error(make_config, refused):
    config = make_config()
    params = start_params(config, "550")
    params["amount"] = "5"  # tampered after signing
    refused(params, "KEY_ERROR")


def test_empty_signature_is_a_key_error(make_config, refused):
    config = make_config()
    refused({**start_params(config), "sign": ""}, "KEY_ERROR")


def test_signature_with_another_configs_key_is_a_key_error(make_config, refused):
    config, other = make_config(), make_config(name="Other shop")
    refused(signed(config, start_params(config, sign=False), key=other.key_request), "KEY_ERROR")


def test_signature_with_the_ipn_or_api_key_is_a_key_error(make_config, refused):
    config = make_config()
    for key in (config.key_ipn, config.key_api):
        refused(signed(config, start_params(config, sign=False), key=key), "KEY_ERROR")


# --- the order of the checks (PROTOCOL §2: the first that fails decides) -------------------------


def test_bad_config_and_bad_sign_is_a_config_error(make_config, refused):
    config = make_config(active=False)
    refused({**start_params(config), "sign": "bad"}, "CONFIG_ERROR")
    unknown = start_params(config, sign=False) | {"config_id": "424242", "sign": "bad"}
    refused(unknown, "CONFIG_ERROR")


def test_bad_sign_and_bad_amount_is_a_key_error(make_config, refused):
    config = make_config()
    refused({**start_params(config, "-5"), "sign": "bad"}, "KEY_ERROR")


def test_bad_sign_and_bad_reference_is_a_key_error(testapp, make_config, refused):
    config = make_config()
    refused({**start_params(config, reference=""), "sign": "bad"}, "KEY_ERROR")


def test_bad_amount_and_bad_reference_is_an_amount_error(testapp, make_config, refused):
    config = make_config()
    refused(start_params(config, "0", ""), "AMOUNT_ERROR")
    assert testapp.post(START, start_params(config, reference="taken")).json["status"] == "OK"
    refused(start_params(config, "1.5", "taken"), "AMOUNT_ERROR")


def test_bad_reference_and_bad_extra_data_is_a_reference_error(make_config, refused):
    config = make_config()
    refused(start_params(config, reference="", extra_data="a\x00b"), "REFERENCE_ERROR")


def test_used_reference_and_bad_extra_data_is_a_reference_error(testapp, make_config, refused):
    config = make_config()
    assert testapp.post(START, start_params(config, reference="taken")).json["status"] == "OK"
    refused(start_params(config, reference="taken", extra_data="a\x00b"), "REFERENCE_ERROR")
    refused(start_params(config, reference="free", extra_data="a\x00b"), "ERROR")


def test_amount_above_maximum_and_bad_reference_is_an_amount_error(make_config, refused):
    config = make_config(max_amount=100)
    refused(start_params(config, "101", ""), "AMOUNT_ERROR")


# --- bytes and methods ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"amount=550&reference=\xff\xfe&extra_data=&config_id=1&sign=x",
        b"amount=550&reference=%FF%FE&extra_data=&config_id=1&sign=x",
        b"\xff=1",
        b"config_id=\xc3",
    ],
)
def test_non_utf8_body_is_a_4xx_json_answer(make_config, refused, body):
    make_config()
    refused(body, REFUSAL_WORDS, content_type="application/x-www-form-urlencoded")


def test_non_utf8_body_of_a_real_config_changes_nothing(make_config, refused):
    config = make_config()
    body = f"amount=550&reference=caf%E9&extra_data=&config_id={config.id}&sign=x".encode()
    refused(body, REFUSAL_WORDS, content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_other_methods_get_405_json(testapp, method):
    answer = getattr(testapp, method)(START, expect_errors=True)
    assert answer.status_int == 405
    assert answer.content_type == "application/json"
    assert answer.json == {"status": "ERROR", "url": ""}
    assert "POST" in answer.headers.get("Allow", "")


def test_refused_start_is_logged(make_config, refused, caplog):
    config = make_config()
    caplog.set_level(logging.INFO, logger="polybanking")
    refused({**start_params(config), "sign": "bad"}, "KEY_ERROR")
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("polybanking")]
    assert any("refused" in m and "KEY_ERROR" in m for m in messages), messages


def test_refused_start_log_does_not_leak_the_signature(make_config, refused, caplog):
    config = make_config()
    caplog.set_level(logging.INFO, logger="polybanking")
    params = start_params(config, "0")
    refused(params, "AMOUNT_ERROR")
    text = caplog.text
    assert "AMOUNT_ERROR" in text
    assert params["sign"] not in text and config.key_request not in text

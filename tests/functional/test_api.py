"""PROTOCOL §7: the websites' API over HTTP — answers, formats, credentials, isolation, junk."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from polybanking.models import Transaction, TransactionLog

from ..openapi_check import CONFORMANCE
from ..website import start_params

LIST = "/api/transactions/"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+0[12]:00$")  # Zurich, testing.ini
ZURICH = ZoneInfo("Europe/Zurich")
DETAIL_FIELDS = {
    "refunded_amount",  # PROTOCOL §10, added beside the original's fields
    "reference",
    "extra_data",
    "amount",
    "amount_chf",
    "postfinance_id",
    "postfinance_status",
    "internal_status",
    "ipn_needed",
    "brand",
    "card",
    "creation_date",
    "last_userforwarded_date",
    "last_user_back_from_postfinance_date",
    "last_postfinance_ipn_date",
    "last_ipn_date",
    "postfinance_status_text",
    "internal_status_text",
}
ANY_REFERENCES = [
    "a/b/c",
    "x/logs",
    "x/logs/logs",
    "trail/",
    "/lead",
    "a//b",
    "..",
    ".",
    "100%",
    "%2F%25",
    "with spaces  inside ",
    "k;v=1;;==",
    "Café ünïcödé ✓ 中文 🎉",
    "?a=b&c=d#frag",
    "line\nbreak\ttab",
    "x" * 255,
]


def detail_url(reference: str) -> str:
    return f"/api/transactions/{quote(reference, safe='')}/"


def logs_url(reference: str) -> str:
    return f"/api/transactions/{quote(reference, safe='')}/logs/"


def creds(config, **extra) -> dict[str, str]:
    return {"config_id": str(config.id), "secret": config.key_api, **extra}


def assert_error(answer, status: int) -> None:
    assert answer.status_int == status, answer
    assert answer.content_type == "application/json"
    assert answer.json["result"] == "error" and answer.json["error"]
    assert answer.headers["Cache-Control"] == "no-store"


def started(testapp, config, reference: str, amount: str = "550", extra_data: str = "") -> None:
    answer = testapp.post("/paiements/start/", start_params(config, amount, reference, extra_data))
    assert answer.json["status"] == "OK", answer.json


def add_transactions(db, config, count: int) -> list[str]:
    """``count`` committed transactions, created one second apart (oldest first); their references."""
    base = datetime(2026, 1, 1, tzinfo=UTC)

    def add(session):
        for i in range(count):
            session.add(
                Transaction(
                    config_id=config.id,
                    reference=f"bulk-{i:05d}",
                    amount=100 + i,
                    creation_date=base + timedelta(seconds=i),
                )
            )

    db.run(add)
    return [f"bulk-{i:05d}" for i in range(count)]


# --- the list --------------------------------------------------------------------------------------


def test_list_is_newest_first_and_only_the_configs_own(testapp, make_config):
    config, other = make_config(), make_config(name="Other")
    for reference in ("first", "second", "third"):
        started(testapp, config, reference)
    started(testapp, other, "someone-elses")

    answer = testapp.post(LIST, creds(config))
    assert answer.status_int == 200 and answer.content_type == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json == {
        "result": "ok",
        "data": [{"reference": "third"}, {"reference": "second"}, {"reference": "first"}],
    }
    assert testapp.post(LIST, creds(other)).json["data"] == [{"reference": "someone-elses"}]


def test_list_default_is_100_and_a_cut_at_1000_is_said(testapp, make_config, db):
    config = make_config()
    references = add_transactions(db, config, 1003)
    newest_first = [{"reference": r} for r in reversed(references)]

    def answer(**form):
        return testapp.post(LIST, creds(config, **form)).json

    def listed(**form):
        return answer(**form)["data"]

    assert answer() == {"result": "ok", "data": newest_first[:100]}  # nothing cut: nothing said
    assert listed(max_transaction="3") == newest_first[:3]
    assert listed(max_transaction="0") == []
    assert answer(max_transaction="1000") == {"result": "ok", "data": newest_first[:1000]}
    cut = {"result": "ok", "data": newest_first[:1000], "truncated": True, "limit": 1000}
    assert answer(max_transaction="1001") == cut
    assert answer(max_transaction=str(10**40)) == cut
    assert listed(max_transaction="0" * 50 + "7") == newest_first[:7]


def test_asking_more_than_the_cap_of_a_smaller_list_is_not_a_cut(testapp, make_config, db):
    config = make_config()
    references = add_transactions(db, config, 5)
    answer = testapp.post(LIST, creds(config, max_transaction="5000")).json
    assert answer == {"result": "ok", "data": [{"reference": r} for r in reversed(references)]}


@pytest.mark.parametrize(
    "value", ["-1", "-0", "abc", "1.5", "1e3", "", " 5", "5 ", "+5", "５", "0x10", "1_000", "NaN", "\x00"]
)
def test_list_max_transaction_junk_is_a_400(testapp, make_config, value):
    config = make_config()
    assert_error(testapp.post(LIST, creds(config, max_transaction=value), expect_errors=True), 400)


def test_credentials_are_checked_before_max_transaction(testapp, make_config):
    config = make_config()
    answer = testapp.post(LIST, {**creds(config, max_transaction="-1"), "secret": "nope"}, expect_errors=True)
    assert_error(answer, 403)


# --- details and logs ------------------------------------------------------------------------------


def test_detail_of_a_new_transaction(testapp, make_config):
    config = make_config()
    started(testapp, config, "inv-7", "1250", extra_data="Café; size=XL")
    answer = testapp.post(detail_url("inv-7"), creds(config))
    assert answer.status_int == 200 and answer.json["result"] == "ok"
    data = answer.json["data"]
    assert set(data) == DETAIL_FIELDS
    assert DATE.match(data["creation_date"])
    assert {k: v for k, v in data.items() if k != "creation_date"} == {
        "reference": "inv-7",
        "extra_data": "Café; size=XL",
        "amount": "1250",
        "amount_chf": 12.5,
        "postfinance_id": "None",
        "postfinance_status": "??",
        "internal_status": "cr",
        "ipn_needed": "False",
        "brand": "",
        "card": "",
        "last_userforwarded_date": "",
        "last_user_back_from_postfinance_date": "",
        "last_postfinance_ipn_date": "",
        "last_ipn_date": "",
        "refunded_amount": "0",
        "postfinance_status_text": "Unknow",
        "internal_status_text": "Transation created",
    }


def test_detail_and_logs_after_a_payment(testapp, make_config, receiver, db, platform):
    config = make_config(platform=platform.name)
    platform.pay_through(testapp, config, reference="paid-1", amount="990")
    receiver.wait_for(len(platform.ipns["pay"]))
    receiver.wait_idle()

    data = testapp.post(detail_url("paid-1"), creds(config)).json["data"]
    stored = db.run(lambda s: s.scalar(select(Transaction).where(Transaction.reference == "paid-1")))
    assert data["amount"] == "990" and data["amount_chf"] == 9.9
    assert data["postfinance_status"] == "9" and data["postfinance_status_text"] == "Payment requested"
    assert data["internal_status"] == "fb" and data["internal_status_text"] == "Feedback from PostFinance"
    assert data["ipn_needed"] == "False"
    assert data["postfinance_id"] == stored.postfinance_id and stored.postfinance_id.isdigit()
    assert data["brand"] == stored.brand == platform.brand and data["card"] == stored.card
    assert data["card"] or platform.name == "checkout"  # Checkout tells the method, not the card
    for name in ("creation_date", "last_userforwarded_date", "last_user_back_from_postfinance_date",
                 "last_postfinance_ipn_date", "last_ipn_date"):  # fmt: skip
        assert DATE.match(data[name]), (name, data[name])
        local = getattr(stored, name).astimezone(ZURICH)
        assert data[name] == local.strftime("%Y-%m-%d %H:%M:%S") + local.strftime("%z")[:3] + ":00"

    logs = testapp.post(logs_url("paid-1"), creds(config)).json
    assert logs["result"] == "ok"
    stored_logs = db.run(
        lambda s: s.scalars(
            select(TransactionLog)
            .where(TransactionLog.transaction_id == stored.id)
            .order_by(TransactionLog.when.desc(), TransactionLog.id.desc())
        ).all()
    )
    assert [entry["log_type"] for entry in logs["data"]] == [log.log_type for log in stored_logs]
    assert logs["data"][-1]["log_type"] == "created"  # newest first: creation is last
    assert {"userForwarded", "postfinanceId", "postfinanceStatus", "ipnsuccess"} <= {
        entry["log_type"] for entry in logs["data"]
    }
    for entry, log in zip(logs["data"], stored_logs, strict=True):
        assert set(entry) == {"when", "extra_data", "log_type", "log_type_text"}
        assert DATE.match(entry["when"]) and entry["extra_data"] == log.extra_data
        assert entry["log_type_text"] == log.log_type_text
    when = [entry["when"] for entry in logs["data"]]
    assert when == sorted(when, reverse=True)


@pytest.mark.parametrize("reference", ANY_REFERENCES)
def test_any_reference_round_trips(testapp, make_config, reference):
    config = make_config()
    started(testapp, config, reference)
    started(testapp, config, reference[:200] + "-other")  # a neighbour that must not be found instead

    assert {"reference": reference} in testapp.post(LIST, creds(config)).json["data"]
    detail = testapp.post(detail_url(reference), creds(config, reference=reference))
    assert detail.json["data"]["reference"] == reference
    logs = testapp.post(logs_url(reference), creds(config, reference=reference))
    assert [entry["log_type"] for entry in logs.json["data"]] == ["created"]


def test_reference_with_slashes_also_works_unencoded(testapp, make_config):
    """The original client put the reference in the URL as it was; ``/`` arrives as a separator."""
    config = make_config()
    started(testapp, config, "2026/07/inv 12")
    answer = testapp.post("/api/transactions/2026/07/inv%2012/", creds(config))
    assert answer.json["data"]["reference"] == "2026/07/inv 12"
    assert testapp.post("/api/transactions/2026/07/inv%2012/logs/", creds(config)).json["result"] == "ok"


def test_url_ending_in_logs_means_the_logs_unless_the_form_names_the_reference(testapp, make_config):
    config = make_config()
    started(testapp, config, "x", "100")
    started(testapp, config, "x/logs", "200")
    url = "/api/transactions/x/logs/"
    assert isinstance(testapp.post(url, creds(config)).json["data"], list)  # the logs of "x"
    assert isinstance(testapp.post(url, creds(config, reference="x")).json["data"], list)
    named = testapp.post(url, creds(config, reference="x/logs")).json["data"]
    assert named["reference"] == "x/logs" and named["amount"] == "200"


def test_unknown_reference_is_a_404(testapp, make_config):
    config = make_config()
    started(testapp, config, "known")
    for url in (detail_url("unknown"), logs_url("unknown"), detail_url("know"), detail_url("known ")):
        assert_error(testapp.post(url, creds(config), expect_errors=True), 404)


def test_reference_with_a_nul_character_is_a_404(testapp, make_config):
    config = make_config()
    assert_error(testapp.post(detail_url("a\x00b"), creds(config), expect_errors=True), 404)


# --- credentials and isolation ---------------------------------------------------------------------


def _wrong_credentials(config, other):
    secret = config.key_api
    last = "0" if secret[-1] != "0" else "1"
    return {
        "another config's secret": {"config_id": str(config.id), "secret": other.key_api},
        "the other config's id with this secret": {"config_id": str(other.id), "secret": secret},
        "last character wrong": {"config_id": str(config.id), "secret": secret[:-1] + last},
        "a prefix": {"config_id": str(config.id), "secret": secret[:-1]},
        "longer": {"config_id": str(config.id), "secret": secret + "0"},
        "upper case": {"config_id": str(config.id), "secret": secret.upper()},
        "the request key": {"config_id": str(config.id), "secret": config.key_request},
        "the IPN key": {"config_id": str(config.id), "secret": config.key_ipn},
        "empty secret": {"config_id": str(config.id), "secret": ""},
        "no secret": {"config_id": str(config.id)},
        "no config_id": {"secret": secret},
        "nothing": {},
        "unknown config": {"config_id": "999999", "secret": secret},
        "junk config_id": {"config_id": f"{config.id}abc", "secret": secret},
        "huge config_id": {"config_id": "9" * 40, "secret": secret},
        "negative config_id": {"config_id": f"-{config.id}", "secret": secret},
        "non-ASCII secret": {"config_id": str(config.id), "secret": "é" * 128},
    }


@pytest.mark.parametrize("endpoint", ["list", "detail", "logs"])
def test_wrong_credentials_are_a_403_and_reveal_nothing(testapp, make_config, endpoint):
    config, other = make_config(), make_config(name="Other")
    started(testapp, config, "mine")
    started(testapp, other, "mine")  # the same reference in the other config
    url = {"list": LIST, "detail": detail_url("mine"), "logs": logs_url("mine")}[endpoint]
    for case, form in _wrong_credentials(config, other).items():
        answer = testapp.post(url, form, expect_errors=True)
        assert_error(answer, 403)
        assert "mine" not in answer.text, case
        assert answer.json == {"result": "error", "error": "wrong or missing credentials"}, case


def test_same_reference_in_two_configs_each_sees_its_own(testapp, make_config):
    config, other = make_config(), make_config(name="Other")
    started(testapp, config, "inv-1", "100")
    started(testapp, other, "inv-1", "200")
    started(testapp, other, "only-other", "300")
    assert testapp.post(detail_url("inv-1"), creds(config)).json["data"]["amount"] == "100"
    assert testapp.post(detail_url("inv-1"), creds(other)).json["data"]["amount"] == "200"
    assert_error(testapp.post(detail_url("only-other"), creds(config), expect_errors=True), 404)
    assert_error(testapp.post(logs_url("only-other"), creds(config), expect_errors=True), 404)


def test_unknown_reference_with_wrong_secret_is_a_403_not_a_404(testapp, make_config):
    config = make_config()
    answer = testapp.post(detail_url("nothing-here"), creds(config, secret="x"), expect_errors=True)
    assert_error(answer, 403)


def test_admin_disabled_config_is_refused_but_an_inactive_one_still_reads(testapp, make_config):
    disabled, inactive = make_config(admin_enable=False), make_config(name="Off", active=False)
    assert_error(testapp.post(LIST, creds(disabled), expect_errors=True), 403)
    assert testapp.post(LIST, creds(inactive)).json == {"result": "ok", "data": []}


def test_the_secret_is_compared_in_constant_time_even_for_unknown_configs(testapp, make_config, monkeypatch):
    """Every refusal compares the given secret with a 128-character key through hmac.compare_digest:
    no early exit, and an unknown config costs what a known one does."""
    import hmac

    config = make_config()
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    for case, form in _wrong_credentials(config, make_config(name="Other")).items():
        calls.clear()
        assert_error(testapp.post(LIST, form, expect_errors=True), 403)
        assert len(calls) == 1, case
        given, expected = calls[0]
        assert given == form.get("secret", "").encode(), case
        assert isinstance(expected, bytes) and len(expected) == 128, case
        assert expected not in (config.key_request.encode(), config.key_ipn.encode()), case


# --- junk and other methods -------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST, detail_url("a"), logs_url("a")])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_other_methods_are_a_405_json(testapp, url, method):
    answer = getattr(testapp, method)(url, expect_errors=True)
    assert_error(answer, 405)
    assert answer.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    "body", [b"config_id=1&secret=\xff", b"\xff=1", b"config_id=%FF&secret=x", b"max_transaction=\xc3"]
)
def test_undecodable_form_is_refused_as_json(testapp, make_config, body):
    """WebOb reads bytes that are not UTF-8 as U+FFFD, which no key holds: wrong credentials."""
    make_config()
    answer = testapp.post(LIST, body, content_type="application/x-www-form-urlencoded", expect_errors=True)
    assert_error(answer, 403)


@pytest.mark.parametrize("path", ["/api/", "/api/transactions", "/api/transactions/a", "/api/nothing/"])
def test_unknown_api_paths_are_a_404_json(testapp, path):
    assert_error(testapp.post(path, {}, expect_errors=True), 404)


@pytest.mark.parametrize("path", ["/api/transactions/%ED%A0%80/", "/api/%FF", "/api/transactions/%FF/logs/"])
def test_url_that_is_not_utf8_is_a_400_json(testapp, path):
    assert_error(testapp.post(path, {}, expect_errors=True), 400)
    assert testapp.get("/paiements/go/%FF", expect_errors=True).content_type == "text/html"  # not the API


def test_a_file_upload_as_credentials_is_refused(testapp, make_config):
    config = make_config()
    answer = testapp.post(
        LIST,
        {"secret": config.key_api},
        upload_files=[("config_id", "id.txt", str(config.id).encode())],
        expect_errors=True,
    )
    assert_error(answer, 403)


def test_a_bug_behind_the_api_is_a_json_500(testapp, make_config, monkeypatch):
    config = make_config()

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("polybanking.views.api.list_references", broken)
    answer = testapp.post(LIST, creds(config), expect_errors=True)
    assert answer.status_int == 500 and answer.content_type == "application/json"
    assert answer.json == {"result": "error", "error": "internal error; it has been logged"}
    # The document promises no 500, and the suite-wide check noticed this one (expected here).
    [failure] = CONFORMANCE.take_failures()
    assert "api.transactions 500" in failure


def test_json_body_instead_of_a_form_is_refused(testapp, make_config):
    config = make_config()
    answer = testapp.post_json(LIST, creds(config), expect_errors=True)
    assert_error(answer, 403)


def test_api_secret_is_not_logged(testapp, make_config, caplog):
    config = make_config()
    caplog.set_level("DEBUG", logger="polybanking")
    testapp.post(LIST, creds(config, secret=config.key_api[:-1] + "x"), expect_errors=True)
    testapp.post(LIST, creds(config))
    assert config.key_api[:20] not in caplog.text

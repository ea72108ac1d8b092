"""The sandbox's ``maintenancedirect.asp`` refuses as PostFinance does (PROTOCOL §10), checked
with SHA-IN computed from the protocol's text (tests/website.py), not with the gateway's code."""

import re

import pytest

from ..website import hidden_fields, path_of, postfinance_sha, start_params

URL = "/sandbox/ncol/test/maintenancedirect.asp"


@pytest.fixture
def payid(testapp, make_config, ledger):
    answer = testapp.post("/paiements/start/", start_params(make_config(), "1000", "r"))
    form = hidden_fields(testapp.get(path_of(answer.json["url"])).text)
    testapp.post("/sandbox/ncol/test/decide", dict(form, outcome="pay"))
    return ledger.entries("test")[0].pay_id


def ask(testapp, settings, sha_in=None, **fields):
    env = settings.test
    form = {"PSPID": env.pspid, "USERID": env.userid, "PSWD": env.password, **fields}
    form["SHASIGN"] = postfinance_sha(form, sha_in or env.sha_in)
    body = testapp.post(URL, form).text
    return dict(re.findall(r'(\w+)="([^"]*)"', body.split("<ncresponse", 1)[1]))


def test_a_signed_refund_is_done_with_a_new_payidsub(testapp, settings, payid):
    answer = ask(testapp, settings, PAYID=payid, AMOUNT="250", OPERATION="RFD")
    assert (answer["NCERROR"], answer["STATUS"], answer["PAYIDSUB"], answer["amount"]) == (
        "0",
        "8",
        "1",
        "2.5",
    )


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"AMOUNT": "1001", "OPERATION": "RFS"}, "amount too high"),
        ({"AMOUNT": "100", "OPERATION": "SAS"}, "not allowed for status 9"),
        ({"AMOUNT": "100", "OPERATION": "XYZ"}, "unknown OPERATION"),
        ({"AMOUNT": "-1", "OPERATION": "RFD"}, "AMOUNT"),
    ],
)
def test_refusals(testapp, settings, payid, fields, error):
    answer = ask(testapp, settings, PAYID=payid, **fields)
    assert answer["NCERROR"] != "0" and error in answer["NCERRORPLUS"] and not answer["STATUS"]


def test_a_wrong_signature_or_password_is_refused_and_changes_nothing(testapp, settings, payid, ledger):
    wrong_sha = ask(testapp, settings, sha_in="not-the-passphrase", PAYID=payid, OPERATION="RFS")
    assert wrong_sha["NCERROR"] != "0" and "SHA-IN" in wrong_sha["NCERRORPLUS"]
    wrong_password = ask(testapp, settings, PAYID=payid, OPERATION="RFS", PSWD="guess")
    assert wrong_password["NCERROR"] == "50001119"
    unknown = ask(testapp, settings, PAYID="999", OPERATION="RFS")
    assert unknown["NCERROR"] == "50001130"
    assert len(ledger.entries("test")) == 1

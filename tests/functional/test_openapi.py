"""polybanking/openapi.yaml: a valid OpenAPI 3 document, served, complete, and actually enforced.

Every answer of the start endpoint and the API in the whole suite is validated against it
(tests/openapi_check.py, wired in conftest.py); the tests here show that check sees answers and
refuses wrong ones.
"""

import json

import pytest
import yaml
from openapi_spec_validator import validate
from pyramid.interfaces import IRoutesMapper

from ..openapi_check import CONFORMANCE, DOCUMENT, OPERATIONS
from ..website import start_params


def test_document_is_valid_openapi_3():
    document = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    validate(document)
    assert document["openapi"].startswith("3.")


def test_document_is_served(testapp):
    answer = testapp.get("/api/openapi.yaml")
    assert answer.status_int == 200
    assert answer.content_type == "application/yaml"
    assert answer.body == DOCUMENT.read_bytes()


def test_document_describes_every_website_route(app):
    document = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    routes = {route.name: route.pattern for route in app.registry.getUtility(IRoutesMapper).get_routes()}
    for name, (method, template) in OPERATIONS.items():
        assert routes[name].replace("{reference:(?s:.+)}", "{reference}") == template
        assert method.lower() in document["paths"][template]
    documented = set(document["paths"])
    assert documented == {template for _method, template in OPERATIONS.values()}


def test_answers_of_the_app_are_checked(testapp, make_config):
    config = make_config()
    before = len(CONFORMANCE.checked)
    testapp.post("/paiements/start/", start_params(config, reference="r1"))
    testapp.post("/paiements/start/", start_params(config, reference="r1"), expect_errors=True)
    creds = {"config_id": str(config.id), "secret": config.key_api}
    testapp.post("/api/transactions/", creds)
    testapp.post("/api/transactions/r1/", creds)
    testapp.post("/api/transactions/r1/logs/", creds)
    testapp.post("/api/transactions/nope/", creds, expect_errors=True)
    testapp.post("/api/transactions/", {}, expect_errors=True)
    assert CONFORMANCE.checked[before:] == [
        ("/paiements/start/", 200),
        ("/paiements/start/", 400),
        ("/api/transactions/", 200),
        ("/api/transactions/{reference}/", 200),
        ("/api/transactions/{reference}/logs/", 200),
        ("/api/transactions/{reference}/", 404),
        ("/api/transactions/", 403),
    ]


DETAIL = {
    "reference": "r",
    "extra_data": "",
    "amount": "550",
    "amount_chf": 5.5,
    "postfinance_id": "None",
    "postfinance_status": "??",
    "internal_status": "cr",
    "ipn_needed": "False",
    "brand": "",
    "card": "",
    "creation_date": "2026-11-27 11:15:00+01:00",
    "last_userforwarded_date": "",
    "last_user_back_from_postfinance_date": "",
    "last_postfinance_ipn_date": "",
    "last_ipn_date": "",
    "postfinance_status_text": "Unknow",
    "internal_status_text": "Transation created",
    "refunded_amount": "0",
}


def _check(template, status, body, content_type="application/json", reference="r"):
    matchdict = {"reference": reference} if "{reference}" in template else {}
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    CONFORMANCE.check(template, matchdict, status, content_type, payload)


def test_a_conforming_detail_passes():
    _check("/api/transactions/{reference}/", 200, {"result": "ok", "data": DETAIL}, reference="a/b %")


@pytest.mark.parametrize(
    ("template", "status", "body", "content_type"),
    [
        ("/api/transactions/", 403, {"result": "error"}, "application/json"),  # no message
        ("/api/transactions/", 403, {"result": "ok", "error": "x"}, "application/json"),
        ("/api/transactions/", 500, {"result": "error", "error": "x"}, "application/json"),  # undocumented
        ("/api/transactions/", 403, b"<html>forbidden</html>", "text/html"),
        ("/api/transactions/", 200, {"result": "ok", "data": [{"reference": 5}]}, "application/json"),
        ("/api/transactions/{reference}/", 200, {"result": "ok", "data": {**DETAIL, "ipn_needed": True}},
         "application/json"),
        ("/api/transactions/{reference}/", 200, {"result": "ok", "data": {**DETAIL, "amount_chf": "5.5"}},
         "application/json"),
        ("/api/transactions/{reference}/", 200,
         {"result": "ok", "data": {**DETAIL, "creation_date": "2026-11-27T10:15:00Z"}}, "application/json"),
        ("/api/transactions/{reference}/", 200, {"result": "ok", "data": {**DETAIL, "extra": "x"}},
         "application/json"),
        ("/paiements/start/", 400, {"status": "NOPE", "url": ""}, "application/json"),
        ("/paiements/start/", 200, {"status": "OK", "url": "http://x/paiements/go/12 3"}, "application/json"),
    ],
)  # fmt: skip
def test_nonconforming_answers_are_refused(template, status, body, content_type):
    with pytest.raises(AssertionError):
        _check(template, status, body, content_type)

"""Schemathesis, from the served openapi.yaml, against the running app over HTTP.

Whatever a website sends to the start endpoint or the API — valid per the document or not — the
answer is never a 500, always JSON, and as the document describes it. Each generated request is
sent as generated (random credentials: refused), and again with a real config's credentials (for
the start endpoint: signed with its key), so the code behind the authentication is fuzzed too.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from ..website import start_params, website_sign
from .test_api import ANY_REFERENCES

EXAMPLES = 40  # per operation and mode (eight runs): some 300 generated requests, each sent twice
CONFORMANCE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

#: Transactions the fuzzed requests may name. Not "." or "..": schemathesis leaves dots unencoded and
#: HTTP libraries collapse such segments before sending (test_api and test_client cover them).
EXISTING = [reference for reference in ANY_REFERENCES if reference.strip(".")][:8]
PATHS = ["/paiements/start/", "/api/transactions/", "/api/transactions/{reference}/",
         "/api/transactions/{reference}/logs/"]  # fmt: skip


@pytest.fixture
def api_schema(app, live_server):
    """The document as the app serves it; requests go to the live server it was loaded from."""
    loaded = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.yaml", timeout=10)
    # Any text Hypothesis makes is valid UTF-8 already; restricting to the codec costs seconds.
    loaded.config.generation.codec = None
    return loaded


@pytest.fixture
def website(testapp, make_config):
    """A config with transactions whose references are the awkward ones."""
    config = make_config()
    for reference in EXISTING:
        assert (
            testapp.post("/paiements/start/", start_params(config, reference=reference)).json["status"]
            == "OK"
        )
    return config


def _with_real_credentials(case, config, reference: str | None) -> bool:
    """Put ``config``'s credentials (or signature) into the generated form, and ``reference`` (one
    that exists) into the path if given; False if the case has no form."""
    if not isinstance(case.body, dict):
        return False
    body = {name: str(value) for name, value in case.body.items()}
    body["config_id"] = str(config.id)
    if case.path == "/paiements/start/":
        signed = {name: body.get(name, "") for name in ("amount", "reference", "extra_data", "config_id")}
        body["sign"] = website_sign(config.key_request, signed)
    else:
        body["secret"] = config.key_api
    case.body = body
    if reference is not None and "reference" in (case.path_parameters or {}):
        case.path_parameters["reference"] = reference
        body["reference"] = reference  # as the document says: it tells "x/logs" from the logs of "x"
    return True


def _assert_json(response) -> None:
    assert response.status_code < 500, response.text[:500]
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith("application/json"), response.text[:200]
    response.json()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("path", PATHS)
def test_no_server_error_and_every_answer_is_documented_json(api_schema, website, path, mode):
    operation = api_schema[path]["POST"]
    checks = CONFORMANCE_CHECKS + ([negative_data_rejection] if mode == GenerationMode.NEGATIVE else [])

    @given(
        case=operation.as_strategy(generation_mode=mode),
        existing=st.sampled_from([None, *EXISTING]),
    )
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def each_request(case, existing):
        response = case.call(timeout=10)
        _assert_json(response)
        case.validate_response(response, checks=checks)
        if _with_real_credentials(case, website, existing):
            response = case.call(timeout=10)
            _assert_json(response)
            case.validate_response(response, checks=CONFORMANCE_CHECKS)

    each_request()

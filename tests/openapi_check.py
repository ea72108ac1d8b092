"""Every answer of the start endpoint and the API, in every test, checked against openapi.yaml.

``CONFORMANCE.install(registry)`` subscribes to the app's NewResponse event, so answers given to
WebTest and over real HTTP (the client library, the example shop) are all seen. The route the
request matched names the operation (a reference may hold ``/``, so the path alone cannot), and
openapi-core validates status, content type and body. A fixture in conftest.py fails the test that
produced a nonconforming answer.
"""

import threading
from pathlib import Path
from urllib.parse import quote

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from pyramid.interfaces import INewResponse

DOCUMENT = Path(__file__).resolve().parent.parent / "polybanking" / "openapi.yaml"

#: route name → (method, path template of the document)
OPERATIONS = {
    "payment.start": ("POST", "/paiements/start/"),
    "api.transactions": ("POST", "/api/transactions/"),
    "api.transaction": ("POST", "/api/transactions/{reference}/"),
    "api.transaction.logs": ("POST", "/api/transactions/{reference}/logs/"),
    "api.transaction.refunds": ("POST", "/api/transactions/{reference}/refunds/"),
}


class Conformance:
    def __init__(self, document: Path = DOCUMENT):
        self.document = document
        self._openapi: OpenAPI | None = None
        self._lock = threading.Lock()
        self.checked: list[tuple[str, int]] = []
        self.failures: list[str] = []

    @property
    def openapi(self) -> OpenAPI:
        if self._openapi is None:
            self._openapi = OpenAPI.from_file_path(str(self.document))
        return self._openapi

    def install(self, registry) -> None:
        registry.registerHandler(self._on_response, (INewResponse,))

    def _on_response(self, event) -> None:
        route = getattr(event.request, "matched_route", None)
        if route is None or route.name not in OPERATIONS:
            return
        method, template = OPERATIONS[route.name]
        if event.request.method != method:
            return  # other methods get 405, which the document does not describe as an operation
        matchdict = event.request.matchdict or {}
        try:
            response = event.response
            self.check(template, matchdict, response.status_int, response.content_type, response.body)
        except Exception as error:  # never break the app's answer; the test fails instead
            with self._lock:
                self.failures.append(f"{route.name} {event.response.status}: {error!r}")

    def check(self, template: str, matchdict: dict, status: int, content_type: str, body: bytes) -> None:
        """Validate one answer; raises openapi-core's error when it does not conform."""
        path = template
        for name, value in matchdict.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        request = MockRequest(
            "http://gateway.test",
            "POST",
            path,
            path_pattern=template,
            view_args=dict(matchdict),
            content_type="application/x-www-form-urlencoded",
        )
        response = MockResponse(body, status_code=status, content_type=content_type or "")
        with self._lock:  # live-server threads answer concurrently
            result = self.openapi.unmarshal_response(request, response)
            if result.errors:
                raise AssertionError("; ".join(map(repr, result.errors)))
            self.checked.append((template, status))

    def take_failures(self) -> list[str]:
        with self._lock:
            failures, self.failures = self.failures, []
        return failures


CONFORMANCE = Conformance()

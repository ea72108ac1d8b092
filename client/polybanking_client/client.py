"""A website's side of PolyBanking: start payments, check IPNs, read transactions.

The class, its constructor's arguments, its method names and what they return are those of the
original PolyBanking client, so a website written for it only changes its import. What is new is
opt-in or invisible: a timeout on every request, one HTTP session reused across calls, type hints,
and ``raise_errors=True`` for typed exceptions instead of ``None`` and error tuples.
"""

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote

import requests

from .errors import (
    ApiError,
    AuthenticationError,
    BadRequest,
    InvalidIPN,
    PaymentRefused,
    PolyBankingError,
    RefundRefused,
    TransactionNotFound,
    TransportError,
)
from .signing import compute_sign, sign_matches, webhook_headers_match

DEFAULT_TIMEOUT = 10.0
IPN_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # then "+00:00", which the original cut off
_API_ERRORS = {400: BadRequest, 403: AuthenticationError, 404: TransactionNotFound, 409: RefundRefused}


class StartResult(NamedTuple):
    """``(status, url)``: ``OK`` and where to send the shopper, or the refusal's word and ``""``."""

    status: str
    url: str


class IpnCheck(NamedTuple):
    """``(is_ok, message, reference, status, status_good, last_update)`` as the original returned.

    ``message`` is ``""`` when the IPN is valid, ``SIGN`` or ``CONFIG`` when not (the other fields
    are then None). ``last_update`` is a naive datetime in UTC, like the original's.
    """

    is_ok: bool
    message: str
    reference: str | None
    status: str | None
    status_good: bool | None
    last_update: datetime | None


class IpnEvent(NamedTuple):
    """A JSON IPN (a config whose IPN body is JSON), checked: ``message_id`` is its ``webhook-id``
    (the same for every retry of one message: remember handled ones to drop repeats); amounts are
    in cents; ``last_update`` is aware, in UTC."""

    message_id: str
    reference: str
    status: str
    status_good: bool
    last_update: datetime | None
    amount: int
    refunded_amount: int
    currency: str
    test_mode: bool


class Refund(NamedTuple):
    """A refund as the gateway answered it: ``state`` is ``pending`` (PostFinance not done yet),
    ``done`` or ``refused``; ``created`` is False when the same idempotency key was sent before."""

    id: int
    amount: int
    state: str
    idempotency_key: str
    created: bool


def reference_path(reference: str) -> str:
    """A reference as one path segment: every reserved character percent-encoded, dots too, so that
    ``/``, ``%``, ``?``, ``.`` or ``..`` reach the gateway unchanged (HTTP libraries would otherwise
    read them as separators or collapse them as dot-segments)."""
    return quote(reference, safe="").replace(".", "%2E")


class PolyBanking:
    """Talks to one PolyBanking gateway as one website (config).

    ``server`` is the gateway's base URL (``https://pay.example.org``); the three keys are the
    config's ``key_request``, ``key_ipn`` and ``key_api``. Use it as a context manager, or call
    ``close()``, to release the HTTP session's connections.
    """

    def __init__(
        self,
        server: str,
        config_id: int | str,
        keyRequests: str,  # noqa: N803 (the original's argument names: callers may pass them by name)
        keyIPN: str,  # noqa: N803
        keyAPI: str,  # noqa: N803
        *,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        raise_errors: bool = False,
    ) -> None:
        self.server = server.rstrip("/")
        self.config_id = config_id
        self.keyRequests = keyRequests
        self.keyIPN = keyIPN
        self.keyAPI = keyAPI
        self.timeout = timeout
        self.raise_errors = raise_errors
        self._own_session = session is None
        self.session = session if session is not None else requests.Session()

    # --- the original's methods -------------------------------------------------------------------

    def compute_sign(self, secret: str, data: Mapping[str, object]) -> str:
        """The PolyBanking signature of ``data`` with ``secret`` (docs/websites.md, section 1)."""
        return compute_sign(secret, data)

    def new_transaction(self, amount: int | str, reference: str, extra_data: str = "") -> StartResult:
        """Start a payment of ``amount`` cents; ``reference`` must be new for this config.

        Returns ``(status, url)``: ``("OK", url)`` where the shopper goes next, or ``(word, "")``
        with ``CONFIG_ERROR``, ``KEY_ERROR``, ``AMOUNT_ERROR``, ``REFERENCE_ERROR`` or ``ERROR``
        (also when the gateway cannot be reached). With ``raise_errors``: PaymentRefused or
        TransportError instead of a refusal.
        """
        data = {
            "amount": str(amount),
            "reference": str(reference),
            "extra_data": str(extra_data),
            "config_id": str(self.config_id),
        }
        data["sign"] = compute_sign(self.keyRequests, data)
        try:
            _status_code, answer = self._post("/paiements/start/", data)
            if not (isinstance(answer, dict) and isinstance(answer.get("status"), str)):
                raise TransportError("the gateway's answer is not a start answer")
        except TransportError:
            if self.raise_errors:
                raise
            return StartResult("ERROR", "")
        result = StartResult(answer["status"], str(answer.get("url") or ""))
        if result.status != "OK" and self.raise_errors:
            raise PaymentRefused(result.status)
        return result

    def check_ipn(self, post_data: Mapping[str, Any]) -> IpnCheck:
        """Check an IPN the gateway posted (the request's form, e.g. Flask's ``request.form``).

        Returns ``(is_ok, message, reference, status, status_good, last_update)``: the signature is
        checked with ``key_ipn`` in constant time (``SIGN`` when wrong or missing), then the config
        (``CONFIG`` when it is another config's). With ``raise_errors``: InvalidIPN instead.
        """
        fields = {str(name): str(post_data[name]) for name in post_data if name != "sign"}
        signature = post_data.get("sign", "")
        names = ("config", "reference", "postfinance_status", "postfinance_status_good", "last_update")
        if not sign_matches(self.keyIPN, fields, signature) or not all(name in fields for name in names):
            return self._invalid_ipn("SIGN")
        if fields["config"] != str(self.config_id):
            return self._invalid_ipn("CONFIG")
        return IpnCheck(
            True,
            "",
            fields["reference"],
            fields["postfinance_status"],
            fields["postfinance_status_good"] == "True",
            _parse_ipn_date(fields["last_update"]),
        )

    def check_ipn_headers(
        self, headers: Mapping[str, str], body: bytes, tolerance: int = 300, now: float | None = None
    ) -> bool:
        """Check an IPN's Standard Webhooks headers (``webhook-id``, ``-timestamp``, ``-signature``).

        ``body`` is the raw request body (Flask: ``request.get_data()``). The signature is
        HMAC-SHA256 keyed with ``key_ipn``; a timestamp more than ``tolerance`` seconds away is a
        replay. Remember handled ``webhook-id`` values to drop repeats. Call it besides
        ``check_ipn``, which checks the form's ``sign``. With ``raise_errors``: InvalidIPN("HEADERS").
        """
        current = time.time() if now is None else now
        ok = webhook_headers_match(self.keyIPN.encode("utf-8"), headers, body, current, tolerance)
        if not ok and self.raise_errors:
            raise InvalidIPN("HEADERS")
        return ok

    def check_ipn_json(
        self, headers: Mapping[str, str], body: bytes, tolerance: int = 300, now: float | None = None
    ) -> IpnEvent | None:
        """Check and read a JSON IPN (``body`` is the raw request body): its Standard Webhooks
        signature and timestamp (as ``check_ipn_headers``), then that it is this config's. None when
        it is not valid; with ``raise_errors``: InvalidIPN (``HEADERS``, ``BODY`` or ``CONFIG``)."""
        current = time.time() if now is None else now
        if not webhook_headers_match(self.keyIPN.encode("utf-8"), headers, body, current, tolerance):
            return self._invalid_event("HEADERS")
        try:
            data = json.loads(body)["data"]
            event = IpnEvent(
                message_id={k.lower(): v for k, v in headers.items()}["webhook-id"],
                reference=str(data["reference"]),
                status=str(data["postfinance_status"]),
                status_good=data["postfinance_status_good"] is True,
                last_update=_parse_ipn_date(data["last_update"], aware=True),
                amount=int(data["amount"]),
                refunded_amount=int(data["refunded_amount"]),
                currency=str(data["currency"]),
                test_mode=data["test_mode"] is True,
            )
            config = data["config"]
        except (ValueError, KeyError, TypeError):  # signed by the gateway, so never expected
            return self._invalid_event("BODY")
        if str(config) != str(self.config_id):
            return self._invalid_event("CONFIG")
        return event

    def get_transactions(self, max_transaction: int = 100) -> list[dict[str, str]] | None:
        """The config's newest transactions first, ``[{"reference": ...}, ...]`` (at most 1000)."""
        return self._api("/api/transactions/", {"max_transaction": str(max_transaction)})

    def get_transaction(self, reference: str) -> dict[str, Any] | None:
        """One transaction's details (docs/websites.md, section 5), or None if unknown
        (TransactionNotFound)."""
        path = f"/api/transactions/{reference_path(reference)}/"
        return self._api(path, {"reference": reference})

    def get_transaction_logs(self, reference: str) -> list[dict[str, str]] | None:
        """One transaction's logs, newest first, or None if unknown (TransactionNotFound)."""
        path = f"/api/transactions/{reference_path(reference)}/logs/"
        return self._api(path, {"reference": reference})

    def refund(
        self, reference: str, idempotency_key: str, amount: int | None = None, reason: str = ""
    ) -> Refund | None:
        """Refund ``amount`` cents (None: all that is left) of a paid transaction (PROTOCOL §10).

        ``idempotency_key`` (at most 64 characters) is yours and names this refund: send the same
        one when retrying after a timeout, and the gateway answers the same refund instead of
        refunding twice. Only for configs whose administrators allowed refunds through the API.
        Returns None on any error, or with ``raise_errors``: RefundRefused (409: not paid, too
        much, key reused for another amount), AuthenticationError, TransactionNotFound,
        BadRequest, TransportError.
        """
        path = f"/api/transactions/{reference_path(reference)}/refunds/"
        form = {
            "config_id": str(self.config_id),
            "secret": self.keyAPI,
            "reference": reference,
            "idempotency_key": idempotency_key,
            "reason": reason,
        }
        if amount is not None:
            form["amount"] = str(int(amount))
        try:
            status_code, answer = self._post(path, form)
            data = answer.get("data") if isinstance(answer, dict) and answer.get("result") == "ok" else None
            if isinstance(data, dict) and status_code in (200, 201):
                return Refund(
                    int(data["id"]), int(data["amount"]), str(data["state"]), str(data["idempotency_key"]),
                    created=status_code == 201,
                )  # fmt: skip
            message = answer.get("error", "") if isinstance(answer, dict) else ""
            raise _API_ERRORS.get(status_code, ApiError)(str(message) or f"HTTP {status_code}", status_code)
        except (KeyError, ValueError):
            error: PolyBankingError = TransportError("the gateway's answer is not a refund")
            if self.raise_errors:
                raise error from None
            return None
        except PolyBankingError:
            if self.raise_errors:
                raise
            return None

    # --- plumbing ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the HTTP connections (only those of a session this object created)."""
        if self._own_session:
            self.session.close()

    def __enter__(self) -> "PolyBanking":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _invalid_ipn(self, reason: str) -> IpnCheck:
        if self.raise_errors:
            raise InvalidIPN(reason)
        return IpnCheck(False, reason, None, None, None, None)

    def _invalid_event(self, reason: str) -> None:
        if self.raise_errors:
            raise InvalidIPN(reason)
        return None

    def _post(self, path: str, data: dict[str, str]) -> tuple[int, Any]:
        """POST a form; (HTTP status, decoded JSON) or TransportError."""
        try:
            response = self.session.post(self.server + path, data=data, timeout=self.timeout)
            return response.status_code, response.json()
        except requests.RequestException as error:  # JSON errors included (requests.JSONDecodeError)
            raise TransportError(f"{type(error).__name__}: {error}") from None

    def _api(self, path: str, extra: dict[str, str]) -> Any:
        """An API call (docs/websites.md, section 5): its ``data``, or None / a typed exception."""
        form = {"config_id": str(self.config_id), "secret": self.keyAPI, **extra}
        try:
            status_code, answer = self._post(path, form)
            if isinstance(answer, dict) and answer.get("result") == "ok" and "data" in answer:
                return answer["data"]
            message = answer.get("error", "") if isinstance(answer, dict) else ""
            raise _API_ERRORS.get(status_code, ApiError)(str(message) or f"HTTP {status_code}", status_code)
        except PolyBankingError:
            if self.raise_errors:
                raise
            return None


def _parse_ipn_date(value: str, aware: bool = False) -> datetime | None:
    """``YYYY-MM-DD HH:MM:SS+00:00`` → naive UTC datetime, as the original (it cut the offset);
    ``aware``: the same in UTC, with its offset (the JSON IPN, which no old website reads)."""
    try:
        naive = datetime.strptime(value[:-6], IPN_DATE_FORMAT)  # noqa: DTZ007 (naive UTC, as the original)
    except ValueError:
        return None
    return naive.replace(tzinfo=UTC) if aware else naive

"""One HTTP attempt at delivering an IPN, measured and bounded; never raises.

Each thread keeps its own ``requests.Session`` (sessions are not thread-safe), so connections to
a website are kept alive across the IPNs of a batch. At most ``MAX_ANSWER_BYTES`` of an answer are
read: a website answering with a huge page cannot fill the worker's memory.
"""

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import requests

from ...models.ipn_attempt import ANSWER_EXCERPT
from .payload import encode_body, webhook_headers
from .schedule import parse_retry_after
from .words import attempt_in_words

MAX_ANSWER_BYTES = 4 * ANSWER_EXCERPT
USER_AGENT = "PolyBanking-IPN/2"


@dataclass(frozen=True)
class Delivery:
    """An IPN ready to post: built from the transaction's row at claim time, just before sending."""

    transaction_id: int
    url: str
    fields: dict[str, str]
    webhook_id: str
    claim_token: str
    claimed_until: datetime
    key_ipn: str = field(repr=False)  # a secret: never in a repr, a log line or a traceback

    @property
    def status(self) -> str:
        return self.fields["postfinance_status"]


@dataclass(frozen=True)
class AttemptResult:
    started_at: datetime
    duration_ms: int
    http_status: int | None = None
    error: str = ""
    answer: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """Any 2xx is success (PROTOCOL §6); redirects are not followed and count as failures."""
        return self.http_status is not None and 200 <= self.http_status < 300

    def describe(self) -> str:
        """What happened in words, for the log: ``answered HTTP 500 with "the answer…" (12 ms)`` or
        ``could not connect: connection refused (3 ms)``; the raw error is kept in ``ipn_attempts``."""
        words = attempt_in_words(self.http_status, self.error, self.answer, self.duration_ms)
        return f"{words} ({self.duration_ms} ms)"


def clean_text(text: str, limit: int = ANSWER_EXCERPT) -> str:
    """At most ``limit`` characters, without NUL (PostgreSQL refuses to store one)."""
    return text[:limit].replace("\x00", "\ufffd")


def _read_answer(answer: requests.Response) -> str:
    try:
        data = answer.raw.read(MAX_ANSWER_BYTES, decode_content=True) or b""
    except Exception as error:  # a body cut short still leaves the status code to record
        return clean_text(f"(answer unreadable: {type(error).__name__})")
    return clean_text(data.decode(answer.encoding or "utf-8", errors="replace"))


class Sender:
    """Posts deliveries with the policy's timeout; safe to share between threads."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
        return session

    def send(self, delivery: Delivery, now: datetime) -> AttemptResult:
        """One attempt at ``now``: the timestamp signed in the headers and recorded."""
        start = time.monotonic()

        def elapsed() -> int:
            return round((time.monotonic() - start) * 1000)

        if not delivery.url:
            return AttemptResult(now, 0, error="no IPN URL configured")
        body = encode_body(delivery.fields)
        headers = webhook_headers(delivery.key_ipn, delivery.webhook_id, int(now.timestamp()), body)
        try:
            answer = self._session().post(
                delivery.url,
                data=body,
                headers=headers,
                timeout=(self.timeout, self.timeout),
                allow_redirects=False,
                stream=True,
            )
        except Exception as error:  # refused, timeout, bad URL…: every one is a failed attempt
            return AttemptResult(now, elapsed(), error=clean_text(f"{type(error).__name__}: {error}"))
        with answer:
            text = _read_answer(answer)
        retry_after = parse_retry_after(answer.headers.get("Retry-After"), now)
        return AttemptResult(now, elapsed(), answer.status_code, answer=text, retry_after=retry_after)

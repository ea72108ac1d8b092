"""One HTTP attempt at delivering an IPN, measured and bounded; never raises.

Each thread keeps its own ``requests.Session`` (sessions are not thread-safe), so connections to
a website are kept alive across the IPNs of a batch. At most ``MAX_ANSWER_BYTES`` of an answer are
read: a website answering with a huge page cannot fill the worker's memory.

The attempt as a whole (connect, send, status, the bounded body) ends at ``timeout``: a timer cuts
the socket then, so a website dripping one byte a second cannot hold a worker thread for longer
(the socket timeouts alone bound each read, not the attempt). Connections go only to the addresses
``destinations`` allows. What is recorded is short and printable, and a failure to connect is
"could not connect" whatever the reason (refused, filtered, unknown name), so the IPN URL cannot
be used to tell a closed port from a filtered one.
"""

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import requests

from ...models.ipn_attempt import ANSWER_EXCERPT
from .deadlines import Watchdog
from .destinations import Attempt, GuardedAdapter, begin_attempt, end_attempt
from .payload import webhook_headers
from .schedule import parse_retry_after
from .words import attempt_in_words

MAX_ANSWER_BYTES = 4 * ANSWER_EXCERPT
USER_AGENT = "PolyBanking-IPN/2"


@dataclass(frozen=True)
class Delivery:
    """An IPN ready to post: built from the transaction's row at claim time, just before sending.
    ``body`` is what is posted (the form of ``fields``, or the config's JSON body)."""

    transaction_id: int
    url: str
    fields: dict[str, str]
    body: bytes
    content_type: str
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
        """What happened in words, for the log (which the config's members read):
        ``answered HTTP 500 with "the answer…" (12 ms)``, or ``could not connect`` without a
        duration (how long a failed connection took would tell a closed port from a filtered one)."""
        if self.http_status is None:
            return self.error
        words = attempt_in_words(self.http_status, self.error, self.answer, self.duration_ms)
        return f"{words} ({self.duration_ms} ms)"


def clean_text(text: str, limit: int = ANSWER_EXCERPT) -> str:
    """At most ``limit`` printable characters: control characters (NUL, which PostgreSQL refuses
    to store, escape sequences, line breaks) become spaces."""
    return "".join(c if c.isprintable() else " " for c in text[:limit])


def _read_answer(answer: requests.Response) -> str:
    try:
        data = answer.raw.read(MAX_ANSWER_BYTES, decode_content=True) or b""
    except Exception as error:  # a body cut short still leaves the status code to record
        return clean_text(f"(answer unreadable: {type(error).__name__})")
    return clean_text(data.decode(answer.encoding or "utf-8", errors="replace"))


def _failure(error: Exception, attempt: Attempt, timeout: float) -> str:
    """What went wrong, in words that tell the website's operator enough and a prober nothing."""
    if attempt.refused:
        return "destination not allowed: not a public address"
    if attempt.expired or isinstance(error, requests.ReadTimeout):
        return f"no answer within {timeout:g} s"
    if isinstance(error, requests.ConnectionError):
        return "could not connect"
    if isinstance(error, ValueError):  # requests' InvalidURL, MissingSchema…
        return "not a usable URL"
    return "request failed"


class Sender:
    """Posts deliveries within ``timeout`` each, to allowed addresses only; safe to share between
    threads."""

    def __init__(self, timeout: float, allow_private: bool = False):
        self.timeout = timeout
        self.allow_private = allow_private
        self._local = threading.local()
        self._watchdog = Watchdog()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # no proxy from the environment: it would skip the guard
            session.headers["User-Agent"] = USER_AGENT
            adapter = GuardedAdapter(self.allow_private)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        return session

    def _forget_session(self) -> None:
        session, self._local.session = getattr(self._local, "session", None), None
        if session is not None:
            session.close()

    def send(self, delivery: Delivery, now: datetime) -> AttemptResult:
        """One attempt at ``now``: the timestamp signed in the headers and recorded."""
        start = time.monotonic()

        def elapsed() -> int:
            return round((time.monotonic() - start) * 1000)

        if not delivery.url:
            return AttemptResult(now, 0, error="no IPN URL configured")
        body = delivery.body
        headers = webhook_headers(
            delivery.key_ipn, delivery.webhook_id, int(now.timestamp()), body, delivery.content_type
        )
        attempt = begin_attempt()
        deadline = self._watchdog.arm(self.timeout, attempt.cut)
        try:
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
                return AttemptResult(now, elapsed(), error=_failure(error, attempt, self.timeout))
            if attempt.expired:  # cut while reading the headers: what was parsed is no answer
                answer.close()
                return AttemptResult(now, elapsed(), error=f"no answer within {self.timeout:g} s")
            with answer:
                text = _read_answer(answer)
            if attempt.expired:  # the status came in time; the body did not
                text = clean_text(f"{text} (answer cut at {self.timeout:g} s)".strip())
        finally:
            deadline.disarm()
            end_attempt()
            if attempt.expired:
                self._forget_session()  # its connection was cut
        retry_after = parse_retry_after(answer.headers.get("Retry-After"), now)
        return AttemptResult(now, elapsed(), answer.status_code, answer=text, retry_after=retry_after)

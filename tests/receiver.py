"""A website's IPN endpoint standing in for a real one: a local HTTP server on 127.0.0.1.

Besides recording what arrives, it can misbehave the ways real websites do: answer slowly (past
the gateway's timeout), hold a request until the test releases it, ask to be left alone with
``Retry-After``, or answer with a body of its choosing.
"""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


@dataclass
class Receiver:
    """Records every POST (``received``: a form's fields, a JSON IPN's ``data``); answers with
    ``statuses`` in turn (then the last one forever).

    ``delays``, ``retry_after`` and ``bodies`` follow the same rule, per request index. A request
    whose delay is ``HOLD`` waits until ``release()``.
    """

    HOLD = -1.0

    statuses: list[int] = field(default_factory=lambda: [200])
    delays: list[float] = field(default_factory=lambda: [0.0])
    retry_after: list[str | None] = field(default_factory=lambda: [None])
    bodies: list[bytes | None] = field(default_factory=lambda: [None])
    received: list[dict[str, str]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    raw_bodies: list[bytes] = field(default_factory=list)
    #: How many requests were being answered at once, at most, per ``reference``.
    max_in_flight: dict[str, int] = field(default_factory=dict)
    url: str = ""
    _in_flight: dict[str, int] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _event: threading.Condition = field(default_factory=threading.Condition)
    _release: threading.Event = field(default_factory=threading.Event)

    @staticmethod
    def _pick(values: list, index: int):
        return values[min(index, len(values) - 1)]

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.headers.get("Content-Type") == "application/json":  # a JSON IPN: its data
                    fields = json.loads(raw)["data"]
                else:
                    fields = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
                reference = fields.get("reference", "")
                with receiver._event:
                    index = len(receiver.received)
                    receiver.received.append(fields)
                    receiver.headers.append(dict(self.headers.items()))
                    receiver.raw_bodies.append(raw)
                    now = receiver._in_flight.get(reference, 0) + 1
                    receiver._in_flight[reference] = now
                    receiver.max_in_flight[reference] = max(now, receiver.max_in_flight.get(reference, 0))
                    receiver._event.notify_all()
                try:
                    delay = receiver._pick(receiver.delays, index)
                    if delay == Receiver.HOLD:
                        receiver._release.wait(60)
                    elif delay:
                        receiver._release.wait(delay)
                    self._answer(index)
                except OSError:
                    pass  # the gateway gave up (timeout) or died: nobody is listening any more
                finally:
                    with receiver._event:
                        receiver._in_flight[reference] -= 1
                        receiver._event.notify_all()

            def _answer(self, index: int) -> None:
                status = receiver._pick(receiver.statuses, index)
                body = receiver._pick(receiver.bodies, index)
                if body is None:
                    body = b"ok" if status < 300 else b"nope"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                retry_after = receiver._pick(receiver.retry_after, index)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 128})  # bursts of IPNs
        self._server = server_class(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/ipn"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, str]]:
        """Block until ``count`` requests arrived (or the timeout passed); returns what arrived."""
        with self._event:
            self._event.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            return list(self.received)

    def wait_idle(self, timeout: float = 20.0) -> bool:
        """Block until no request is being answered."""
        with self._event:
            return self._event.wait_for(lambda: not any(self._in_flight.values()), timeout=timeout)

    def release(self) -> None:
        """Let held (and delayed) requests answer now, and every later one without waiting."""
        self._release.set()

    def reset(self) -> None:
        """Forget what arrived and answer 200 at once again (one server serves many tests)."""
        self._release.set()
        self.wait_idle(timeout=5)
        with self._event:
            self.received.clear()
            self.headers.clear()
            self.raw_bodies.clear()
            self.max_in_flight.clear()
            self.statuses = [200]
            self.delays = [0.0]
            self.retry_after = [None]
            self.bodies = [None]
        self._release = threading.Event()

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        """Stop listening: connections are refused from now on."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

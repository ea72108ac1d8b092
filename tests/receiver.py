"""A website's IPN endpoint standing in for a real one: a local HTTP server on 127.0.0.1."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


@dataclass
class Receiver:
    """Records every POST; answers with ``statuses`` in turn (then the last one forever)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[dict[str, str]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _event: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                with receiver._event:
                    index = len(receiver.received)
                    receiver.received.append(dict(parse_qsl(body, keep_blank_values=True)))
                    receiver.headers.append(dict(self.headers.items()))
                    receiver._event.notify_all()
                status = receiver.statuses[min(index, len(receiver.statuses) - 1)]
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"nope")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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

    def reset(self) -> None:
        """Forget what arrived and answer 200 again (one server serves many tests)."""
        with self._event:
            self.received.clear()
            self.headers.clear()
            self.statuses = [200]

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        """Stop listening: connections are refused from now on."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

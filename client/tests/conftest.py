"""A stand-in gateway for the client's own tests: a local HTTP server answering what a test says.

The client is also tested against the real gateway (tests/functional/test_client.py at the project's
root); these tests cover what a real gateway does not easily do: time out, answer junk, go away.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest


@dataclass
class StubGateway:
    """Records every request (path as sent, form); answers ``status`` with ``body`` after ``delay``."""

    status: int = 200
    body: object = field(default_factory=lambda: {"result": "ok", "data": []})
    delay: float = 0.0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    connections: set[int] = field(default_factory=set)
    url: str = ""

    def start(self) -> "StubGateway":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so a reused session shows as one connection

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode("utf-8"), keep_blank_values=True))
                stub.requests.append((self.path, form))
                stub.connections.add(self.client_address[1])
                time.sleep(stub.delay)
                payload = stub.body if isinstance(stub.body, bytes) else json.dumps(stub.body).encode()
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that timed out and hung up is what some tests want

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def gateway():
    stub = StubGateway().start()
    yield stub
    stub.stop()

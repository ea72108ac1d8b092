"""A stand-in for EPFL's Tequila server: a local HTTP server on 127.0.0.1 speaking its exchange.

``createrequest`` hands out a request key, ``requestauth`` plays the person signing in (as
``person``) and sends the browser back to ``urlaccess`` with ``key=``, and ``fetchattributes``
answers who that was, once the key has been through ``requestauth`` (as the real one does).
"""

import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PREFIX = "/cgi-bin/tequila/"


def _lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@dataclass
class TequilaServer:
    person: dict[str, str] = field(
        default_factory=lambda: {"uniqueid": "123456", "username": "jdoe", "firstname": "Jane", "name": "Doe"}
    )
    delay: float = 0.0  # seconds before answering createrequest/fetchattributes (timeout tests)
    fail_fetch: bool = False
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    url: str = ""
    _pending: dict[str, dict[str, str]] = field(default_factory=dict)  # key → createrequest fields
    _authenticated: set[str] = field(default_factory=set)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> "TequilaServer":
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: str = "", location: str = "") -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(body.encode("utf-8"))

            def do_POST(self):  # noqa: N802
                fields = _lines(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8"))
                name = self.path.removeprefix(PREFIX)
                stand_in.requests.append((name, fields))
                time.sleep(stand_in.delay)
                if name == "createrequest":
                    key = secrets.token_hex(16)
                    stand_in._pending[key] = fields
                    return self._answer(200, f"key={key}\n")
                if name == "fetchattributes":
                    key = fields.get("key", "")
                    if stand_in.fail_fetch or key not in stand_in._authenticated:
                        return self._answer(200, f"key={key}\nstatus=fail\n")
                    stand_in._authenticated.discard(key)  # a key is good for one sign-in
                    person = "".join(f"{k}={v}\n" for k, v in stand_in.person.items())
                    return self._answer(200, f"key={key}\nstatus=ok\n{person}")
                return self._answer(404, "unknown\n")

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path != PREFIX + "requestauth":
                    return self._answer(404)
                key = parse_qs(parts.query).get("requestkey", [""])[0]
                fields = stand_in._pending.pop(key, None)
                if fields is None:
                    return self._answer(400, "unknown request key\n")
                stand_in._authenticated.add(key)
                target = fields["urlaccess"]
                return self._answer(302, location=target + ("&" if "?" in target else "?") + f"key={key}")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

"""A client for EPFL's Tequila single sign-on (the original PolyBanking's default sign-in).

The exchange, in Tequila's own ``name=value`` line format:

1. ``createrequest``: we POST ``urlaccess`` (where Tequila sends the browser back), ``service``
   and the attributes we want; Tequila answers ``key=<request key>``.
2. The browser goes to ``requestauth?requestkey=<key>``, the person signs in at Tequila, and comes
   back to ``urlaccess`` with ``key=<key>`` added to the query string.
3. ``fetchattributes``: we POST ``key=<key>`` and get the person's attributes (``uniqueid`` is
   the stable identity, ``username`` the login name).

The request key is kept in the session between 1 and 3 and must come back unchanged, so nobody
can make a browser sign in as someone else with a key of their own. This is the one outgoing HTTP
call inside a web request (sign-in needs the answer): timeouts are short.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import requests

ATTRIBUTES = ("uniqueid", "username", "name", "firstname", "email")
KEY_PATTERN = re.compile(r"[A-Za-z0-9]{1,128}")
MAX_ANSWER = 64 * 1024

Poster = Callable[..., requests.Response]


class TequilaError(Exception):
    """Tequila could not be reached or answered something we cannot use; the message is for logs."""


@dataclass(frozen=True)
class Identity:
    unique_id: str
    username: str
    display_name: str
    email: str


def encode_lines(fields: dict[str, str]) -> str:
    for name, value in fields.items():
        if "\n" in value or "\r" in value or "=" in name:
            raise TequilaError(f"field {name!r} cannot be sent in Tequila's line format")
    return "".join(f"{name}={value}\n" for name, value in fields.items())


def parse_lines(text: str) -> dict[str, str]:
    """``name=value`` lines; blank lines and lines without ``=`` are ignored, the first value wins."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip():
            result.setdefault(name.strip(), value.strip())
    return result


def is_valid_key(key: str) -> bool:
    return bool(KEY_PATTERN.fullmatch(key))


class TequilaClient:
    def __init__(self, server: str, service: str, timeout: float = 5.0, post: Poster = requests.post):
        self.server = server.rstrip("/")
        self.service = service
        self.timeout = timeout
        self._post = post

    def _url(self, name: str) -> str:
        return f"{self.server}/cgi-bin/tequila/{name}"

    def _call(self, name: str, fields: dict[str, str]) -> dict[str, str]:
        try:
            answer = self._post(
                self._url(name),
                data=encode_lines(fields).encode("utf-8"),
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise TequilaError(f"{name}: {type(error).__name__}") from None
        if answer.status_code != 200:
            raise TequilaError(f"{name}: HTTP {answer.status_code}")
        return parse_lines(answer.content[:MAX_ANSWER].decode("utf-8", errors="replace"))

    def create_request(self, return_url: str) -> str:
        """Step 1: a request key for a sign-in that comes back to ``return_url``."""
        answer = self._call(
            "createrequest",
            {"urlaccess": return_url, "service": self.service, "request": ",".join(ATTRIBUTES)},
        )
        key = answer.get("key", "")
        if not is_valid_key(key):
            raise TequilaError("createrequest: no usable key in the answer")
        return key

    def auth_url(self, key: str) -> str:
        """Step 2: where the browser signs in."""
        return self._url("requestauth") + "?" + urlencode({"requestkey": key})

    def fetch_attributes(self, key: str) -> Identity:
        """Step 3: who signed in with ``key``; raises TequilaError unless Tequila vouches for it."""
        if not is_valid_key(key):
            raise TequilaError("fetchattributes: malformed key")
        answer = self._call("fetchattributes", {"key": key})
        if answer.get("status", "ok") != "ok":
            raise TequilaError(f"fetchattributes: status {answer.get('status', '')[:40]!r}")
        if answer.get("key") not in (None, key):
            raise TequilaError("fetchattributes: the answer is about another request")
        unique_id = answer.get("uniqueid", "")
        username = answer.get("username", "").split(",")[0].strip()
        if not unique_id or not username:
            raise TequilaError("fetchattributes: uniqueid or username missing")
        names = (answer.get("firstname", ""), answer.get("name", ""))
        return Identity(
            unique_id=unique_id[:255],
            username=username[:150],
            display_name=" ".join(n for n in names if n)[:255],
            email=answer.get("email", "")[:255],
        )

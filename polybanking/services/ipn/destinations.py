"""Where the gateway may send a website's IPN: public addresses only, unless the ini allows more.

A config's ``url_ipn`` is typed by any member of the config; without this, it could point the
worker at the gateway's own host, the internal network or a cloud metadata service, and show the
answer back. So the address is checked twice:

* when the URL is saved (``url_problem``: a literal address, or a name that resolves now to a
  private one, is a form or CLI error);
* on every attempt, on the address actually connected to (``GuardedAdapter``): the name is resolved
  once, each address is checked, and the socket connects to that very address, so a name that
  resolves differently a second time (DNS rebinding) gains nothing.

``ipn.allow_private_destinations = true`` (development, tests) turns both checks off.
"""

import contextlib
import ipaddress
import socket
import threading
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.connection import create_connection

SETTING = "ipn.allow_private_destinations"


class ForbiddenDestination(OSError):
    """The destination is not a public address; nothing was sent."""


def is_public(address: str) -> bool:
    """A globally routable unicast address (not loopback, private, link-local, shared, reserved…)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def url_problem(url: str, allow_private: bool) -> str:
    """Why the gateway would refuse to send to ``url``, or "" (the check when a URL is saved).

    A name that does not resolve now is accepted: the check at each attempt still applies.
    """
    if allow_private:
        return ""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = _resolve(parts.hostname or "", port)
    except (ValueError, OSError, UnicodeError):
        return ""
    if any(not is_public(address) for address in addresses):
        return "must be a public address (this one is private, loopback or reserved)"
    return ""


#: The attempt running on this thread: the connection in use, so a deadline can cut it.
_current = threading.local()


class Attempt:
    """One attempt's connection, for the watchdog that ends it at its deadline."""

    def __init__(self) -> None:
        self.connection: HTTPConnection | None = None
        self.expired = False
        self.refused = False
        self._lock = threading.Lock()

    def use(self, connection: HTTPConnection) -> None:
        with self._lock:
            self.connection = connection
        if self.expired:
            self.cut()

    def cut(self) -> None:
        """The deadline passed: shut the socket, so a read that drips bytes ends now."""
        with self._lock:
            self.expired = True
            sock = self.connection.sock if self.connection is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # closed already
                sock.shutdown(socket.SHUT_RDWR)


def begin_attempt() -> Attempt:
    _current.attempt = Attempt()
    return _current.attempt


def end_attempt() -> None:
    _current.attempt = None


class _Guarded:
    allow_private = False

    def request(self, *args, **kwargs):  # called for each request, on a new or a reused connection
        attempt = getattr(_current, "attempt", None)
        if attempt is not None:
            attempt.use(self)  # type: ignore[arg-type]
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def _new_conn(self) -> socket.socket:
        if self.allow_private:
            return super()._new_conn()  # type: ignore[misc]
        host, port = self._dns_host, self.port  # type: ignore[attr-defined]
        try:
            addresses = _resolve(host, port)
        except OSError:
            return super()._new_conn()  # type: ignore[misc]  (the same name error, raised by urllib3)
        allowed = [address for address in addresses if is_public(address)]
        if not allowed:
            attempt = getattr(_current, "attempt", None)
            if attempt is not None:
                attempt.refused = True
            raise ForbiddenDestination("not a public address")
        error: OSError | None = None
        for address in allowed:
            try:
                return create_connection(
                    (address, port),
                    self.timeout,  # type: ignore[attr-defined]
                    source_address=self.source_address,  # type: ignore[attr-defined]
                    socket_options=self.socket_options,  # type: ignore[attr-defined]
                )
            except OSError as failed:
                error = failed
        assert error is not None
        raise error


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections go only to allowed addresses and can be cut."""

    def __init__(self, allow_private: bool, **kwargs):
        options = {"allow_private": allow_private}
        http = type("GuardedHTTPConnection", (_Guarded, HTTPConnection), options)
        https = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), options)
        self._pools = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

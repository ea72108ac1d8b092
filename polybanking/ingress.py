"""The door: which reverse proxies are believed, and bodies too large refused before anyone reads them.

Two tweens, outermost in the chain so no view, transaction or database work happens first:

* **trusted proxies** (``polybanking.trusted_proxies``: addresses or networks). ``X-Forwarded-For``,
  ``-Proto``, ``-Host`` are applied only when the peer that connected is one of them, then removed
  from the request either way. WebOb's ``request.client_addr`` otherwise believes the first
  ``X-Forwarded-For`` address of anyone who sends one, so logged client addresses (and the
  monitoring allow-list) could be forged. Done here rather than by waitress's ``trusted_proxy``
  so it behaves the same under any WSGI server, in tests, and with several proxies.
* **body limit** (``polybanking.max_body``, and ``polybanking.max_upload`` for ``/admin/`` where
  back-office reports are uploaded): a declared ``Content-Length`` above the limit is a 413 before
  the body is read; a chunked body without a length is a 411. Put the same limit in front of the
  app too (nginx ``client_max_body_size``, waitress ``max_request_body_size``) so nothing buffers it.
"""

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pyramid.response import Response
from pyramid.tweens import INGRESS

from .settings import SettingsError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_MAX_BODY = 1024 * 1024  # a start request's extra_data (64 KiB of text) percent-encoded fits
DEFAULT_MAX_UPLOAD = 32 * 1024 * 1024  # a year of PostFinance transaction reports
UPLOAD_PREFIX = "/admin/"
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_SERVER",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)
_SIZE = re.compile(r"(?P<number>[0-9]{1,15})\s*(?P<unit>[kmg]?)(i?b)?", re.IGNORECASE)
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?")


def parse_size(key: str, value: str | None, default: int) -> int:
    """``1048576``, ``512KB``, ``1MiB``, ``2M`` → bytes (K = 1024)."""
    if value is None or not value.strip():
        return default
    match = _SIZE.fullmatch(value.strip())
    if match is None or int(match["number"]) <= 0:
        raise SettingsError(key, f"a positive size in bytes (like 1048576 or 1MB), not {value!r}")
    return int(match["number"]) * 1024 ** "_kmg".index(match["unit"].lower() or "_")


def parse_networks(key: str, value: str | None) -> tuple[IPNetwork, ...]:
    """Space- or comma-separated addresses and networks (``127.0.0.1 10.0.0.0/8 ::1``)."""
    networks = []
    for item in (value or "").replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(key, f"{item!r} is not an IP address or network") from None
    return tuple(networks)


def parse_address(text: str) -> IPAddress | None:
    """An address as proxies write it (``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``, ``::1``); None if junk."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def in_networks(address: IPAddress | None, networks: Iterable[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in networks)


@dataclass(frozen=True)
class Ingress:
    max_body: int
    max_upload: int
    trusted_proxies: tuple[IPNetwork, ...]

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> "Ingress":
        max_body = parse_size("polybanking.max_body", settings.get("polybanking.max_body"), DEFAULT_MAX_BODY)
        max_upload = parse_size(
            "polybanking.max_upload",
            settings.get("polybanking.max_upload"),
            max(DEFAULT_MAX_UPLOAD, max_body),
        )
        if max_upload < max_body:
            raise SettingsError("polybanking.max_upload", "must not be smaller than polybanking.max_body")
        trusted = parse_networks("polybanking.trusted_proxies", settings.get("polybanking.trusted_proxies"))
        return cls(max_body=max_body, max_upload=max_upload, trusted_proxies=trusted)

    def limit_for(self, path: str) -> int:
        return self.max_upload if path.startswith(UPLOAD_PREFIX) else self.max_body


def apply_forwarded(environ: dict, trusted: tuple[IPNetwork, ...]) -> None:
    """Rewrite REMOTE_ADDR, scheme and host from a trusted proxy's headers; drop the headers."""
    headers = {name: environ.pop(name) for name in FORWARDED_HEADERS if name in environ}
    peer = parse_address(environ.get("REMOTE_ADDR", ""))
    if not trusted or not in_networks(peer, trusted):
        return
    client = peer
    # Right to left: each entry was appended by the proxy that the next one trusts; the first
    # address we do not trust is the client (anything left of it the client may have made up).
    for hop in reversed(headers.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        if not in_networks(client, trusted):
            break
        address = parse_address(hop)
        if address is None:
            break
        client = address
    environ["REMOTE_ADDR"] = str(client)
    proto = headers.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
    if proto in ("http", "https"):
        environ["wsgi.url_scheme"] = proto
    host = headers.get("HTTP_X_FORWARDED_HOST", "").split(",")[-1].strip()
    if host and _HOST.fullmatch(host):
        environ["HTTP_HOST"] = host


def _refuse(status: int, text: str) -> Response:
    return Response(text + "\n", status=status, content_type="text/plain")


def oversized(environ: Mapping[str, str], limit: int) -> Response | None:
    """The answer for a body we will not read, or None when it may be read."""
    length = (environ.get("CONTENT_LENGTH") or "").strip()
    if length:
        if not length.isascii() or not length.isdigit():
            return _refuse(400, "bad Content-Length")
        if int(length) > limit:
            return _refuse(413, f"request body larger than {limit} bytes")
        return None
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return _refuse(411, "a Content-Length is required")
    return None


def ingress_tween_factory(handler, registry):
    ingress: Ingress = registry.pb_ingress

    def ingress_tween(request):
        apply_forwarded(request.environ, ingress.trusted_proxies)
        refusal = oversized(request.environ, ingress.limit_for(request.environ.get("PATH_INFO", "")))
        return refusal if refusal is not None else handler(request)

    return ingress_tween


def includeme(config) -> None:
    config.registry.pb_ingress = Ingress.from_settings(config.get_settings())
    # Right under the metrics tween when there is one (so its refusals are counted), else outermost.
    config.add_tween(
        "polybanking.ingress.ingress_tween_factory",
        under=("polybanking.monitoring.metrics_tween_factory", INGRESS),
    )

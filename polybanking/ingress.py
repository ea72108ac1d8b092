"""The door: which reverse proxies are believed, what bodies and parameters are let in.

One tween, outermost in the chain (under the metrics one), so no view, transaction or database work
happens first:

* **trusted proxies** (``polybanking.trusted_proxies``: addresses or networks). ``X-Forwarded-For``,
  ``-Proto``, ``-Host`` are applied only when the peer that connected is one of them, then removed
  from the request either way. WebOb's ``request.client_addr`` otherwise believes the first
  ``X-Forwarded-For`` address of anyone who sends one, so logged client addresses (and the
  monitoring allow-list) could be forged. Done here rather than by waitress's ``trusted_proxy``
  so it behaves the same under any WSGI server, in tests, and with several proxies.
* **body limit**, per route, before anything parses the body: the report upload
  (``UPLOAD_PATHS``) gets ``polybanking.max_upload`` (by default ``reconcile.upload_max_mb`` and
  room for the form); the endpoints websites and the platforms call (``/paiements/``, ``/api/``,
  ``/sandbox/``) get ``polybanking.max_body`` (a start's extra_data); everything else, the sign-in
  form included, gets ``polybanking.max_form`` (64 KB), so an anonymous visitor cannot make the
  process parse megabytes of form fields. A declared ``Content-Length`` above the limit is a 413
  before the body is read; a chunked body without a length is a 411. Put the same limits in
  front of the app too (nginx ``client_max_body_size``, waitress ``max_request_body_size``)
  so nothing buffers such a body.
* **parameters**: a form declared in another charset than UTF-8 is transcoded once, here
  (``to_utf8``); query strings and url-encoded forms that are not UTF-8 are a 400 (``unreadable``).
"""

import codecs
import io
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import Message

from pyramid.response import Response
from pyramid.tweens import INGRESS

from .settings import SettingsError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_MAX_BODY = 1024 * 1024  # a start request's extra_data (64 KiB of text) percent-encoded fits
#: Room for the upload form's other fields and the multipart framing around the report file.
UPLOAD_FORM_SLACK = 64 * 1024
FORM, MULTIPART = "application/x-www-form-urlencoded", "multipart/form-data"
#: What the standard library's multipart reader accepts as a boundary (cgi.valid_boundary).
_BOUNDARY = re.compile(r"[ -~]{0,200}[!-~]")
DEFAULT_MAX_FORM = 64 * 1024  # the admin's forms and the sign-in form: a few fields each
#: The only routes that take a file: the large allowance is theirs alone (nginx's site mirrors it).
UPLOAD_PATHS = frozenset({"/admin/reconciliation/new"})
#: Signed endpoints of websites and platforms, whose bodies carry a payment's extra_data.
PROTOCOL_PREFIXES = ("/paiements/", "/api/", "/sandbox/")
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


def _report_upload(settings: Mapping[str, str]) -> int:
    """The admin's report upload limit (``reconcile.upload_max_mb``, checked by the reconciliation's
    own settings), with room for the form: the door's default for ``/admin/``."""
    text = (settings.get("reconcile.upload_max_mb") or "").strip()
    megabytes = int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 10**6 else 100
    return megabytes * 1024 * 1024 + UPLOAD_FORM_SLACK


def in_networks(address: IPAddress | None, networks: Iterable[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in networks)


@dataclass(frozen=True)
class Ingress:
    max_body: int
    max_upload: int
    trusted_proxies: tuple[IPNetwork, ...]
    max_form: int = DEFAULT_MAX_FORM

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> "Ingress":
        max_body = parse_size("polybanking.max_body", settings.get("polybanking.max_body"), DEFAULT_MAX_BODY)
        max_upload = parse_size(
            "polybanking.max_upload",
            settings.get("polybanking.max_upload"),
            max(_report_upload(settings), max_body),
        )
        if max_upload < max_body:
            raise SettingsError("polybanking.max_upload", "must not be smaller than polybanking.max_body")
        max_form = parse_size(
            "polybanking.max_form", settings.get("polybanking.max_form"), min(DEFAULT_MAX_FORM, max_body)
        )
        if max_form > max_body:
            raise SettingsError("polybanking.max_form", "must not be larger than polybanking.max_body")
        trusted = parse_networks("polybanking.trusted_proxies", settings.get("polybanking.trusted_proxies"))
        return cls(max_body=max_body, max_upload=max_upload, trusted_proxies=trusted, max_form=max_form)

    def limit_for(self, path: str) -> int:
        if path in UPLOAD_PATHS:
            return self.max_upload
        return self.max_body if path.startswith(PROTOCOL_PREFIXES) else self.max_form


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


def _refuse(status: int, text: str, path: str = "") -> Response:
    """A refusal at the door, in the shape its client reads: PROTOCOL §2 for a website's start,
    the API's ``{"result": "error"}`` (§7), plain text for everyone else."""
    if path == "/paiements/start/":
        return Response(json={"status": "ERROR", "url": ""}, status=status)
    if path.startswith("/api/"):
        return Response(json={"result": "error", "error": text}, status=status)
    return Response(text + "\n", status=status, content_type="text/plain")


def oversized(environ: Mapping[str, str], limit: int) -> Response | None:
    """The answer for a body we will not read, or None when it may be read."""
    path = environ.get("PATH_INFO", "")
    length = (environ.get("CONTENT_LENGTH") or "").strip()
    if length:
        if not length.isascii() or not length.isdigit():
            return _refuse(400, "bad Content-Length", path)
        if int(length) > limit:
            return _refuse(413, f"request body larger than {limit} bytes", path)
        return None
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return _refuse(411, "a Content-Length is required", path)
    return None


def to_utf8(request) -> Response | None:
    """Transcode a form declared in another charset (``charset=ISO-8859-1``) to UTF-8, in place.

    WebOb raises DeprecationWarning (an exception: a 500) when anything reads a form declared in
    another charset: the views, and Pyramid's CSRF check. Done once here, every reader sees UTF-8;
    an unknown charset, or bytes that are not in it, is a 400.
    """
    charset = request.charset
    if charset == "UTF-8":
        return None
    if request.content_type != FORM and request.content_length:
        # Browsers never label a multipart form with a charset; transcoding one means parsing it.
        return _refuse(400, "send forms in UTF-8", request.environ.get("PATH_INFO", ""))
    try:
        codecs.lookup(charset)
        decoded = request.decode(charset)
        body = decoded.body
    except (LookupError, UnicodeError, ValueError):
        path = request.environ.get("PATH_INFO", "")
        return _refuse(400, "the form's charset is unknown, or its bytes are not in it", path)
    request.environ["QUERY_STRING"] = decoded.environ.get("QUERY_STRING", "")
    # WebOb writes charset="UTF-8", quotes included, which its own check then does not recognise.
    request.environ["CONTENT_TYPE"] = decoded.environ.get("CONTENT_TYPE", "").replace('"UTF-8"', "UTF-8")
    request.body = body
    request._charset = None  # WebOb caches the charset it read first; it is UTF-8 from now on
    return None


def _multipart_boundary(content_type: str) -> str:
    header = Message()
    header["Content-Type"] = content_type
    return str(header.get_param("boundary") or "")


def unreadable(request) -> Response | None:
    """A 400 for parameters that cannot be read: a query string or url-encoded form that is not
    UTF-8 (``?%80``), a multipart form without a valid boundary. Pyramid's CSRF check and the views
    would fail on them with a 500. A url-encoded form is read here once (WebOb keeps the result; it
    is small: ``polybanking.max_body``); a multipart one is not parsed here: an upload is left to
    its view, which checks who sends it and how large it is before reading it.
    """
    try:
        request.GET  # noqa: B018 (parsed and cached by WebOb)
        if request.method in ("POST", "PUT", "PATCH"):
            # Uploaded files are temporary files: closed when the request ends, whoever answers it
            # (a CSRF or permission refusal never reaches the view that reads them).
            request.add_finished_callback(close_uploads)
            content_type = request.content_type
            if content_type == FORM:
                request.POST  # noqa: B018
            elif content_type == MULTIPART and not _BOUNDARY.fullmatch(
                _multipart_boundary(request.environ.get("CONTENT_TYPE", ""))
            ):
                raise ValueError("no valid multipart boundary")
    except (UnicodeDecodeError, ValueError, DeprecationWarning):
        return _refuse(400, "The form could not be read.", request.environ.get("PATH_INFO", ""))
    return None


def close_uploads(request) -> None:
    """Close the form's files, and WebOb's on-disk copy of a large body (temporary files)."""
    parsed = request.environ.get("webob._parsed_post_vars")  # only what someone already parsed
    for value in parsed[0].values() if parsed else ():
        if hasattr(value, "file") and hasattr(value.file, "close"):
            value.file.close()
    body = request.environ.get("wsgi.input")
    if isinstance(body, io.BufferedRandom):  # made seekable by WebOb, not the server's stream
        body.close()


def ingress_tween_factory(handler, registry):
    ingress: Ingress = registry.pb_ingress

    def ingress_tween(request):
        apply_forwarded(request.environ, ingress.trusted_proxies)
        refusal = oversized(request.environ, ingress.limit_for(request.environ.get("PATH_INFO", "")))
        if refusal is None:
            refusal = to_utf8(request) or unreadable(request)
        return refusal if refusal is not None else handler(request)

    return ingress_tween


def includeme(config) -> None:
    config.registry.pb_ingress = Ingress.from_settings(config.get_settings())
    # Right under the metrics tween when there is one (so its refusals are counted), else outermost.
    config.add_tween(
        "polybanking.ingress.ingress_tween_factory",
        under=("polybanking.monitoring.metrics_tween_factory", INGRESS),
    )

"""A website and a PostFinance peer as the tests see them, written from PROTOCOL.md alone.

Deliberately independent of ``polybanking.signing`` and ``polybanking.platforms.epayment``: the gateway's
code is checked against these, never against itself.
"""

import base64
import hashlib
import hmac
import html
import re
from urllib.parse import parse_qsl, urlsplit

#: The IPN form's fields (PROTOCOL §6), exactly: the 2014 websites read these and nothing else.
IPN_FORM_FIELDS = {
    "config",
    "reference",
    "postfinance_status",
    "postfinance_status_good",
    "last_update",
    "sign",
}


def website_sign(secret: str, params: dict[str, str]) -> str:
    """PROTOCOL §1, from the text."""
    text = ""
    for name in sorted(params):
        value = params[name]
        esc_name = name.replace(";", "!!").replace("=", "??")
        esc_value = value.replace(";", "!!").replace("=", "??")
        text += f"{esc_name}={esc_value};{secret};"
    return hashlib.sha512(text.encode("utf-8")).hexdigest()


def postfinance_sha(params: dict[str, str], passphrase: str, algorithm: str = "sha512", keys=None) -> str:
    """PROTOCOL §4, from the text."""
    upper = {k.upper(): v for k, v in params.items() if v != "" and k.upper() != "SHASIGN"}
    if keys is not None:
        upper = {k: v for k, v in upper.items() if k in keys}
    text = "".join(f"{k}={upper[k]}{passphrase}" for k in sorted(upper))
    return hashlib.new(algorithm, text.encode("utf-8")).hexdigest().upper()


def start_params(config, amount="550", reference="order-1", extra_data="", sign=True) -> dict[str, str]:
    """A website's signed start request for ``config`` (anything with id and key_request)."""
    params = {
        "amount": str(amount),
        "reference": reference,
        "extra_data": extra_data,
        "config_id": str(config.id),
    }
    if sign:
        params["sign"] = website_sign(config.key_request, params)
    return params


def hidden_fields(page: str) -> dict[str, str]:
    """Hidden inputs of an HTML page, unescaped."""
    pairs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {html.unescape(name): html.unescape(value) for name, value in pairs}


def form_action(page: str) -> str:
    return html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page).group(1))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def check_ipn_headers(key_ipn: str, headers, body: bytes, now: int, tolerance: int = 300) -> bool:
    """A website's check of the Standard Webhooks headers of an IPN, from the specification alone:
    HMAC-SHA256 keyed with the UTF-8 bytes of ``key_ipn`` over ``id.timestamp.body``, base64, in a
    space-separated list of ``v1,<signature>``; a timestamp more than ``tolerance`` seconds from
    ``now`` is a replay and refused."""
    lowered = {name.lower(): value for name, value in dict(headers).items()}
    message_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not message_id or not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key_ipn.encode(), signed, hashlib.sha256).digest()).decode()
    for candidate in signatures.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected.encode()):
            return True
    return False

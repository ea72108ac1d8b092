"""A website and a PostFinance peer as the tests see them, written from PROTOCOL.md alone.

Deliberately independent of ``polybanking.signing`` and ``polybanking.postfinance``: the gateway's
code is checked against these, never against itself.
"""

import hashlib
import html
import re
from urllib.parse import parse_qsl, urlsplit


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

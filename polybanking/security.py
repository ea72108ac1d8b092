"""Security plumbing shared by every view: response headers and constant-time helpers."""

import hmac
from urllib.parse import urlsplit

from pyramid.events import NewResponse


def constant_time_equals(a: str, b: str) -> bool:
    """Compare secrets without an early exit on the first differing character."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(form_targets: list[str]) -> str:
    """Own origin only, no inline script; forms may also post to PostFinance's hosted pages."""
    targets = " ".join(sorted({o for o in map(_origin, form_targets) if o}))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"form-action 'self' {targets}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ).replace("  ", " ")


def includeme(config) -> None:
    settings = config.registry.pb_settings
    targets = [settings.test.url] + ([settings.prod.url] if settings.prod else [])
    headers = {
        "Content-Security-Policy": content_security_policy(targets),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }

    def add_headers(event: NewResponse) -> None:
        for name, value in headers.items():
            event.response.headers.setdefault(name, value)

    config.add_subscriber(add_headers, NewResponse)

"""An IPN attempt's outcome in words, for people (the event log, the admin pages, ``ipn status``).

The raw detail (``ConnectionError: HTTPConnectionPool(host=…) Max retries exceeded …``) says little
to an administrator; it stays in the ``ipn_attempts`` table and is shown beside these words.
"""

#: How much of a website's answer the words quote (the whole first 1 000 characters are kept).
QUOTED = 120

_NOT_FOUND = (
    "Name or service not known",
    "NameResolutionError",
    "nodename nor servname",
    "getaddrinfo failed",
)


def _seconds(duration_ms: int) -> str:
    seconds = duration_ms / 1000
    return f"{seconds:.0f}" if seconds >= 10 else f"{seconds:.1f}".rstrip("0").rstrip(".")


def _quoted(answer: str) -> str:
    text = " ".join(answer.split())
    return text if len(text) <= QUOTED else text[: QUOTED - 1] + "…"


def attempt_in_words(http_status: int | None, error: str, answer: str, duration_ms: int) -> str:
    """``answered HTTP 500 with "Internal error"``, ``could not connect: connection refused``,
    ``no answer within 10 s (timed out)``…"""
    if http_status is not None:
        text = f"answered HTTP {http_status}"
        if 300 <= http_status < 400:
            text += " (a redirect, which is not followed: the IPN URL must answer itself)"
        quoted = _quoted(answer)
        return f'{text} with "{quoted}"' if quoted and not 200 <= http_status < 300 else text
    kind, _, detail = error.partition(":")
    if kind == "ConnectTimeout":
        return f"could not connect within {_seconds(duration_ms)} s (timed out)"
    if kind in ("ReadTimeout", "Timeout"):
        return f"no answer within {_seconds(duration_ms)} s (timed out)"
    if kind == "SSLError":
        return "could not connect securely (TLS certificate or protocol error)"
    if kind in ("InvalidURL", "MissingSchema", "InvalidSchema", "InvalidHeader"):
        return "the IPN URL is not a valid http(s) URL"
    if kind in ("ConnectionError", "ProxyError", "ChunkedEncodingError"):
        if any(marker in detail for marker in _NOT_FOUND):
            return "could not connect: the host name is unknown (DNS)"
        if "refused" in detail.lower():
            return "could not connect: connection refused"
        if "reset" in detail.lower() or "aborted" in detail.lower():
            return "the connection was cut before an answer"
        return "could not connect"
    return error or "failed"

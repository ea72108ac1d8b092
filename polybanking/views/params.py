"""Reading request parameters safely: bytes that are not UTF-8 are a 400, never a 500."""

import codecs

from pyramid.request import Request


class BadParameters(ValueError):
    """The request's parameters cannot be decoded."""


def _utf8(request: Request) -> Request:
    """The request transcoded to UTF-8 when it declares another charset (``charset=ISO-8859-1``).

    WebOb raises DeprecationWarning (as an exception, so a 500) on reading a form in any other
    charset; a declared charset is honoured instead, and an unknown one is bad parameters.
    """
    charset = request.charset
    if charset == "UTF-8":
        return request
    try:
        codecs.lookup(charset)
        return request.decode(charset)
    except (LookupError, UnicodeError, ValueError) as error:
        raise BadParameters(f"cannot decode a form in {charset[:40]!r}: {error}") from None


def form_items(request: Request, source: str = "POST") -> list[tuple[str, str]]:
    """(name, value) pairs of the query string or the form body, as text."""
    try:
        decoded = _utf8(request)
        multidict = decoded.GET if source == "GET" else decoded.POST
        return [(str(name), str(value)) for name, value in multidict.items() if isinstance(value, str)]
    except (UnicodeDecodeError, ValueError, DeprecationWarning) as error:
        raise BadParameters(str(error)) from None


def form_dict(request: Request, source: str = "POST") -> dict[str, str]:
    """First value of each parameter."""
    result: dict[str, str] = {}
    for name, value in form_items(request, source):
        result.setdefault(name, value)
    return result


def client_ip(request: Request) -> str:
    return request.client_addr or ""

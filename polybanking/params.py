"""Reading request parameters safely: bytes that are not UTF-8 are a 400, never a 500."""

from pyramid.request import Request


class BadParameters(ValueError):
    """The request's parameters cannot be decoded."""


def form_items(request: Request, source: str = "POST") -> list[tuple[str, str]]:
    """(name, value) pairs of the query string or the form body, as text.

    A form declared in another charset was transcoded to UTF-8 at the door (``ingress.to_utf8``);
    WebOb's DeprecationWarning for one that was not is bad parameters too, never a 500.
    """
    try:
        multidict = request.GET if source == "GET" else request.POST
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

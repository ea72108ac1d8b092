"""Small helpers the admin views share: reading forms safely, flash messages, safe redirects."""

from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther

from ...params import BadParameters, form_dict

MAX_FIELD = 4096


def read_form(request, source: str = "POST") -> dict[str, str]:
    """The form's first values; undecodable, oversized or NUL-carrying input is a 400, never a 500."""
    try:
        values = form_dict(request, source)
    except BadParameters:
        raise HTTPBadRequest("The form could not be read.") from None
    if any(len(value) > MAX_FIELD for value in values.values()):
        raise HTTPBadRequest("A field is too long.")
    if any("\x00" in name or "\x00" in value for name, value in values.items()):
        # Never typed by a person, and PostgreSQL refuses them (an error, not an empty result).
        raise HTTPBadRequest("A field contains a NUL character.")
    return values


def checked(form: dict[str, str], name: str) -> bool:
    return form.get(name, "") in ("on", "1", "true", "yes")


def flash(request, message: str) -> None:
    """A message shown once, on the next admin page (the layout pops them)."""
    request.session.flash(message)


def see_other(request, route_name: str, **kw) -> HTTPSeeOther:
    """303 after a POST (DESIGN.md habit 4)."""
    return HTTPSeeOther(location=request.route_url(route_name, **kw))


def safe_next(request, target: str) -> str:
    """Where to go after sign-in: a path of this site under /admin/, never another host; anything
    else (control characters that would split the Location header included) goes home."""
    printable = target.isascii() and target.isprintable()
    if printable and target.startswith("/admin/") and "\\" not in target:
        return request.application_url + target
    return request.route_url("admin.home")

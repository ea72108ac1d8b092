"""Who is signed in, what they may do, and the protections every response gets.

- The session is a signed cookie (HttpOnly, SameSite=Lax, Secure in production) holding only the
  user's id, sign-in time and a random session token whose row in the database (auth/sessions.py)
  must still exist: signing out, a password change, disabling the user and "sign out everywhere"
  delete rows, so every copy of the cookie stops working at once. The account is re-read on every
  request, so taking a right away takes effect at once.
- Authorisation is Pyramid's ACLs, carried by the route factories in ``routes.py``: a view only
  names its permission. Principals: ``system.Authenticated``, ``user:<id>``, ``role:superuser``,
  ``role:staff``. Permissions are named per area (``admin.config.edit`` …), listed below.
- CSRF: required for every unsafe request by default; the endpoints websites and PostFinance call
  (``/paiements/*``, ``/sandbox/*``, ``/api/*``) opt out with ``require_csrf=False`` and are
  authenticated by their signatures or keys; they never need a session (identity is None there).
"""

from datetime import timedelta
from urllib.parse import urlsplit

from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.csrf import SessionCSRFStoragePolicy, new_csrf_token
from pyramid.events import NewResponse
from pyramid.request import RequestLocalCache
from pyramid.session import SignedCookieSessionFactory

from .auth import sessions
from .auth.settings import AdminSettings
from .auth.settings import load as load_admin_settings
from .models import User
from .models.meta import MAX_ROW_ID, utcnow

# Permissions, one family per admin area. A new area (reconciliation, exports…) adds its own
# names here and grants them in its route factory's __acl__ (see README, "Adding an admin area").
HOME = "admin.home"
CONFIG_LIST = "admin.config.list"
CONFIG_CREATE = "admin.config.create"
CONFIG_VIEW = "admin.config.view"
CONFIG_EDIT = "admin.config.edit"  # fields, active on/off, regenerate keys
CONFIG_ADMIN = "admin.config.admin"  # admin_enable and allowed users: superusers only
TRANSACTION_LIST = "admin.transaction.list"
TRANSACTION_VIEW = "admin.transaction.view"
TRANSACTION_RESEND = "admin.transaction.resend"
#: Refund, capture, cancel (issue 15): granted per config, never implied by being allowed on it.
TRANSACTION_OPERATE = "admin.transaction.operate"
USER_MANAGE = "admin.user.manage"
# Reconciliation (issue 6): superusers only, as a report holds every config's payments.
RECONCILIATION_VIEW = "admin.reconciliation.view"  # the runs, their results and CSV
RECONCILIATION_RUN = "admin.reconciliation.run"  # upload a report and store a run
# Exports and the summary (issue 7): every signed-in user, for the configs they may see.
EXPORT_VIEW = "admin.export.view"  # the export form
EXPORT_DOWNLOAD = "admin.export.download"  # one config's file (its members), all configs (superusers)
SUMMARY_VIEW = "admin.summary.view"  # the summary page and its PDF/CSV, of the visible configs

SUPERUSER = "role:superuser"
STAFF = "role:staff"

#: What a user allowed on a config may do with it and its transactions.
CONFIG_MEMBER_PERMISSIONS = (CONFIG_VIEW, CONFIG_EDIT, TRANSACTION_VIEW, TRANSACTION_RESEND, EXPORT_DOWNLOAD)

SESSION_USER = "user_id"
SESSION_SIGNED_IN_AT = "signed_in_at"
SESSION_TOKEN = "session_token"  # noqa: S105 (the session key's name, not a secret)
SESSION_IDLE_TIMEOUT = timedelta(hours=2)
SESSION_MAX_AGE = timedelta(hours=12)


def user_principal(user_id: int) -> str:
    return f"user:{user_id}"


def principals_of(user: User | None) -> list[str]:
    if user is None:
        return [Everyone]
    found = [Everyone, Authenticated, user_principal(user.id)]
    if user.is_superuser:
        found.append(SUPERUSER)
    if user.is_staff:
        found.append(STAFF)
    return found


class SecurityPolicy:
    """Pyramid 2 security policy: the session's user, and ACL checks against their principals."""

    def __init__(self):
        self._identity = RequestLocalCache(self._load_identity)
        self._acl = ACLHelper()

    def _load_identity(self, request) -> User | None:
        session = request.session
        user_id = session.get(SESSION_USER)
        signed_in_at = session.get(SESSION_SIGNED_IN_AT)
        if not isinstance(user_id, int) or not 0 < user_id <= MAX_ROW_ID or not isinstance(signed_in_at, int):
            return None
        if utcnow().timestamp() - signed_in_at > SESSION_MAX_AGE.total_seconds():
            return None
        token = session.get(SESSION_TOKEN)
        if not isinstance(token, str) or sessions.find(request.dbsession, user_id, token) is None:
            return None  # signed out (here or everywhere), or the password changed since
        user = request.dbsession.get(User, user_id)
        return user if user is not None and user.is_active else None

    def identity(self, request) -> User | None:
        return self._identity.get_or_create(request)

    def authenticated_userid(self, request) -> int | None:
        user = self.identity(request)
        return user.id if user is not None else None

    def permits(self, request, context, permission):
        return self._acl.permits(context, principals_of(self.identity(request)), permission)

    def remember(self, request, userid, **kw):
        """A fresh session for the signed-in user: nothing of the anonymous one carries over."""
        request.session.invalidate()
        user = request.dbsession.get(User, userid)
        request.session[SESSION_USER] = userid
        request.session[SESSION_SIGNED_IN_AT] = int(utcnow().timestamp())
        request.session[SESSION_TOKEN] = sessions.start(request.dbsession, user, SESSION_MAX_AGE)
        new_csrf_token(request)
        self._identity.clear(request)
        return []

    def forget(self, request, **kw):
        """Sign out: this session's row goes, so a copy of its cookie is signed out too."""
        token = request.session.get(SESSION_TOKEN)
        sessions.end(request.dbsession, token if isinstance(token, str) else "")
        request.session.invalidate()
        self._identity.clear(request)
        return []


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


def _session_factory(admin: AdminSettings):
    return SignedCookieSessionFactory(
        admin.session_secret,
        cookie_name="polybanking_session",
        secure=admin.session_secure,
        httponly=True,
        samesite="Lax",  # Strict would drop the cookie on the way back from Tequila
        timeout=int(SESSION_IDLE_TIMEOUT.total_seconds()),
        reissue_time=300,
        salt="polybanking.session.",
    )


def includeme(config) -> None:
    settings = config.registry.pb_settings
    admin = load_admin_settings(config.get_settings())
    config.registry.admin_settings = admin

    config.set_session_factory(_session_factory(admin))
    config.set_security_policy(SecurityPolicy())
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    # Every unsafe request needs the token, unless its view opts out (public, signed endpoints).
    config.set_default_csrf_options(require_csrf=True)

    # Forms may post to PostFinance (the go page) and, after the POST that starts a Tequila
    # sign-in, be redirected to Tequila: CSP's form-action covers that redirect too.
    targets = [settings.test.url] + ([settings.prod.url] if settings.prod else []) + admin.form_targets
    headers = {
        "Content-Security-Policy": content_security_policy(targets),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if admin.session_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"

    def add_headers(event: NewResponse) -> None:
        for name, value in headers.items():
            event.response.headers.setdefault(name, value)
        if event.request.environ.get("PATH_INFO", "").startswith("/admin/"):  # raw: may not be UTF-8
            # Admin pages show secrets and payments: never kept by a browser or a proxy.
            event.response.headers["Cache-Control"] = "no-store"

    config.add_subscriber(add_headers, NewResponse)

"""Every route of the gateway; the URLs are a contract (a test pins this table).

Admin routes carry a factory that loads their object (or answers 404) and holds its ``__acl__``:
authorisation lives here, in one place, so no view can forget it (DESIGN.md habit 5).

The API's route factories (PROTOCOL §7) are here too: they authenticate the website and load what
the URL names, so authorisation lives in one place and the views only shape answers.
"""

from pyramid.authorization import ALL_PERMISSIONS, DENY_ALL, Allow, Authenticated
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPRequestEntityTooLarge

from . import security as perm
from .models import Config, ReconciliationRun, Transaction, User
from .models.config import SECRET_FIELDS
from .models.meta import MAX_ROW_ID
from .params import BadParameters, form_dict
from .services.payments.api import ApiRefused, authenticate, find_transaction

#: A reference is the rest of the path, any character included (``/`` too): a regex marker, not a
#: ``*`` remainder, which would drop empty and ``.``/``..`` segments.
REFERENCE = "{reference:(?s:.+)}"


def _row(request, model, key: str, raw: str | None = None):
    """The row whose id is in the URL (or ``raw``), or 404 (junk and out-of-range ids included)."""
    raw = request.matchdict.get(key, "") if raw is None else raw
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ROW_ID:
        raise HTTPNotFound()
    row = request.dbsession.get(model, int(raw))
    if row is None:
        raise HTTPNotFound()
    return row


class AdminRoot:
    """Admin pages that are not about one object: every signed-in user reaches them, and sees only
    what their configs allow (the queries filter by ``allowed_config_ids``)."""

    __acl__ = [
        (Allow, perm.SUPERUSER, ALL_PERMISSIONS),
        (
            Allow,
            Authenticated,
            (perm.HOME, perm.CONFIG_LIST, perm.TRANSACTION_LIST, perm.EXPORT_VIEW, perm.SUMMARY_VIEW),
        ),
        (Allow, perm.STAFF, perm.CONFIG_CREATE),
        DENY_ALL,
    ]

    def __init__(self, request):
        self.request = request


def config_acl(config: Config) -> list:
    return [
        (Allow, perm.SUPERUSER, ALL_PERMISSIONS),
        *(
            (Allow, perm.user_principal(user.id), perm.CONFIG_MEMBER_PERMISSIONS)
            for user in config.allowed_users
        ),
        *((Allow, perm.user_principal(user.id), perm.TRANSACTION_OPERATE) for user in config.operators),
        DENY_ALL,
    ]


class ConfigResource:
    def __init__(self, request):
        self.request = request
        self.config: Config = _row(request, Config, "config_id")
        self.__acl__ = config_acl(self.config)


class ConfigKeyResource(ConfigResource):
    """One of the config's three secrets (``key_request``, ``key_ipn``, ``key_api``)."""

    def __init__(self, request):
        super().__init__(request)
        self.key_name = request.matchdict.get("key", "")
        if self.key_name not in SECRET_FIELDS:
            raise HTTPNotFound()


class TransactionResource:
    """A transaction is seen by whoever may see its config, and by nobody else."""

    def __init__(self, request):
        self.request = request
        self.transaction: Transaction = _row(request, Transaction, "transaction_id")
        self.__acl__ = config_acl(self.transaction.config)


class UsersRoot:
    __acl__ = [(Allow, perm.SUPERUSER, ALL_PERMISSIONS), DENY_ALL]

    def __init__(self, request):
        self.request = request


class UserResource(UsersRoot):
    def __init__(self, request):
        super().__init__(request)
        self.user: User = _row(request, User, "user_id")


class ReconciliationRoot:
    """Reconciliation with PostFinance's reports: superusers only (a report holds every config's
    payments, and a run's result names them)."""

    __acl__ = [(Allow, perm.SUPERUSER, ALL_PERMISSIONS), DENY_ALL]

    def __init__(self, request):
        self.request = request


#: Room for the form's other fields and the multipart framing around the file.
UPLOAD_FORM_SLACK = 64 * 1024


class ReconciliationUpload(ReconciliationRoot):
    """The upload form. A body announced larger than the limit is refused here, before the CSRF
    check would parse it; the view checks the file's real size too (a body may come unannounced)."""

    def __init__(self, request):
        super().__init__(request)
        limit = request.registry.pb_settings.reconcile.upload_max_bytes
        if request.method == "POST" and (request.content_length or 0) > limit + UPLOAD_FORM_SLACK:
            raise HTTPRequestEntityTooLarge(
                f"The file is too large: reports up to {limit // (1024 * 1024)} MB can be uploaded "
                "(reconcile.upload_max_mb); compare a larger one with the polybanking compare command."
            )


class ReconciliationRunResource(ReconciliationRoot):
    def __init__(self, request):
        super().__init__(request)
        self.run: ReconciliationRun = _row(request, ReconciliationRun, "run_id")


class AllConfigsExport:
    """An export of every config at once: superusers only."""

    __acl__ = [(Allow, perm.SUPERUSER, ALL_PERMISSIONS), DENY_ALL]
    config: Config | None = None

    def __init__(self, request):
        self.request = request


class ExportResource(AllConfigsExport):
    """What an export holds, named by the form's ``config`` field: ``all`` (superusers only) or a
    config id, whose ACL lets its allowed users download it; an unknown or junk id is 404."""

    def __init__(self, request):
        super().__init__(request)
        try:
            raw = form_dict(request, "GET").get("config", "")
        except BadParameters:
            raise HTTPBadRequest("The form could not be read.") from None
        if raw != "all":
            self.config = _row(request, Config, "config", raw)
            self.__acl__ = config_acl(self.config)


def includeme(config) -> None:
    config.add_static_view("static", "polybanking:static", cache_max_age=3600)
    config.add_route("home", "/")  # where to go next: the demo, the sandbox, the admin

    # Websites and PostFinance (PROTOCOL §2, §3, §5): CSRF-exempt, signed instead.
    config.add_route("payment.start", "/paiements/start/")
    config.add_route("payment.go", "/paiements/go/{token}")
    config.add_route("payment.ipn", "/paiements/ipn")
    config.add_route("payment.return", "/paiements/return")
    # PostFinance Checkout (PROTOCOL §11): the webhook listener's URL, and the shopper's return.
    config.add_route("payment.checkout.webhook", "/paiements/checkout/webhook")
    config.add_route("payment.checkout.return", "/paiements/checkout/return/{token}")

    # The admin web interface (README, "Admin web interface").
    admin = AdminRoot
    config.add_route("admin.home", "/admin/", factory=admin)
    config.add_route("admin.login", "/admin/login", factory=admin)
    config.add_route("admin.login.tequila", "/admin/login/tequila", factory=admin)
    config.add_route("admin.logout", "/admin/logout", factory=admin)
    config.add_route("admin.logout.everywhere", "/admin/logout/everywhere", factory=admin)
    config.add_route("admin.config.list", "/admin/configs/", factory=admin)
    config.add_route("admin.config.create", "/admin/configs/new", factory=admin)
    config.add_route("admin.config.show", "/admin/configs/{config_id}/", factory=ConfigResource)
    config.add_route("admin.config.edit", "/admin/configs/{config_id}/edit", factory=ConfigResource)
    config.add_route("admin.config.active", "/admin/configs/{config_id}/active", factory=ConfigResource)
    config.add_route("admin.config.users", "/admin/configs/{config_id}/users", factory=ConfigResource)
    config.add_route("admin.config.log", "/admin/configs/{config_id}/log", factory=ConfigResource)
    config.add_route("admin.config.key", "/admin/configs/{config_id}/keys/{key}", factory=ConfigKeyResource)
    config.add_route("admin.transaction.list", "/admin/transactions/", factory=admin)
    config.add_route(
        "admin.transaction.show", "/admin/transactions/{transaction_id}/", factory=TransactionResource
    )
    config.add_route(
        "admin.transaction.resend",
        "/admin/transactions/{transaction_id}/resend-ipn",
        factory=TransactionResource,
    )
    config.add_route(
        "admin.transaction.operate",
        "/admin/transactions/{transaction_id}/operations",
        factory=TransactionResource,
    )
    config.add_route("admin.user.list", "/admin/users/", factory=UsersRoot)
    config.add_route("admin.user.create", "/admin/users/new", factory=UsersRoot)
    config.add_route("admin.user.edit", "/admin/users/{user_id}/edit", factory=UserResource)
    config.add_route("admin.reconciliation.list", "/admin/reconciliation/", factory=ReconciliationRoot)
    config.add_route("admin.reconciliation.upload", "/admin/reconciliation/new", factory=ReconciliationUpload)
    config.add_route(
        "admin.reconciliation.show", "/admin/reconciliation/{run_id}/", factory=ReconciliationRunResource
    )
    config.add_route(
        "admin.reconciliation.csv",
        "/admin/reconciliation/{run_id}/differences.csv",
        factory=ReconciliationRunResource,
    )
    config.add_route("admin.export.form", "/admin/exports/", factory=admin)
    config.add_route("admin.export.download", "/admin/exports/download", factory=ExportResource)
    config.add_route("admin.summary.show", "/admin/summary/", factory=admin)
    config.add_route("admin.summary.pdf", "/admin/summary/summary.pdf", factory=admin)
    config.add_route("admin.summary.csv", "/admin/summary/summary.csv", factory=admin)
    # Websites' API (PROTOCOL §7): CSRF-exempt, authenticated by config_id + key_api.
    config.add_route_predicate("logs_unless_form_says_reference", LogsUnlessFormSaysReference)
    config.add_view_predicate("api_path", ApiPath)
    config.add_route("api.openapi", "/api/openapi.yaml")
    config.add_route("api.transactions", "/api/transactions/", factory=ApiConfigContext)
    config.add_route(
        "api.transaction.logs",
        f"/api/transactions/{REFERENCE}/logs/",
        factory=ApiTransactionContext,
        logs_unless_form_says_reference=True,
    )
    config.add_route_predicate("refunds_unless_form_says_reference", RefundsUnlessFormSaysReference)
    config.add_route(
        "api.transaction.refunds",
        f"/api/transactions/{REFERENCE}/refunds/",
        factory=ApiRefundContext,
        refunds_unless_form_says_reference=True,
    )
    config.add_route("api.transaction", f"/api/transactions/{REFERENCE}/", factory=ApiTransactionContext)

    # Operators (issue 8): probes and Prometheus; answered to polybanking.monitoring_from only.
    config.add_route("monitoring.health", "/healthz")
    config.add_route("monitoring.metrics", "/metrics")


class LogsUnlessFormSaysReference:
    """``/api/transactions/x/logs/`` is the logs of ``x`` and also the details of ``x/logs``.

    The form's ``reference`` field, which the original client and ours send, says which was meant;
    without it, the logs. (The same holds for ``refunds/``.)
    """

    suffix = "logs"

    def __init__(self, value: bool, config):
        self.value = value

    def text(self) -> str:
        return f"{self.suffix}_unless_form_says_reference = {self.value}"

    phash = text

    def __call__(self, info, request) -> bool:
        try:
            named = request.POST.get("reference")
        except (UnicodeDecodeError, ValueError):
            named = None
        is_logs = named != f"{info['match']['reference']}/{self.suffix}"
        return is_logs == self.value


class RefundsUnlessFormSaysReference(LogsUnlessFormSaysReference):
    """``/api/transactions/x/refunds/``: refunds of ``x``, unless the form says ``x/refunds``."""

    suffix = "refunds"


class ApiPath:
    """For error views: the request's path, as received, is under ``/api/``.

    Reads the raw PATH_INFO: Pyramid's ``path_info`` predicate decodes it, which fails again on the
    very URLs (not UTF-8) whose error the API must still answer in JSON.
    """

    def __init__(self, value: bool, config):
        self.value = value

    def text(self) -> str:
        return f"api_path = {self.value}"

    phash = text

    def __call__(self, context, request) -> bool:
        return request.environ.get("PATH_INFO", "").startswith("/api/") == self.value


class ApiConfigContext:
    """The website calling the API, authenticated; refusals are ApiRefused (a JSON answer)."""

    def __init__(self, request):
        if request.method != "POST":
            raise ApiRefused(405, "POST only")
        try:
            self.form = form_dict(request)
        except BadParameters:
            raise ApiRefused(400, "the form cannot be read (not UTF-8)") from None
        self.config = authenticate(request.dbsession, self.form.get("config_id"), self.form.get("secret"))


class ApiTransactionContext(ApiConfigContext):
    """One transaction of the authenticated website, named by the URL's reference."""

    def __init__(self, request):
        super().__init__(request)
        self.transaction = find_transaction(request.dbsession, self.config, request.matchdict["reference"])


class ApiRefundContext(ApiTransactionContext):
    """Refunds through the API (PROTOCOL §10): only for configs an administrator allowed it for,
    refused before the reference is looked up (a refused website learns nothing of it)."""

    def __init__(self, request):
        ApiConfigContext.__init__(self, request)
        if not self.config.api_refunds:
            raise ApiRefused(403, "refunds through the API are not allowed for this config")
        self.transaction = find_transaction(request.dbsession, self.config, request.matchdict["reference"])

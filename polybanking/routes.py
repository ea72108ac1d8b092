"""Every route of the gateway; the URLs are a contract (a test pins this table).

The API's route factories (PROTOCOL §7) are here too: they authenticate the website and load what
the URL names, so authorisation lives in one place and the views only shape answers.
"""

from .services.api import ApiRefused, authenticate, find_transaction
from .views.params import BadParameters, form_dict

#: A reference is the rest of the path, any character included (``/`` too): a regex marker, not a
#: ``*`` remainder, which would drop empty and ``.``/``..`` segments.
REFERENCE = "{reference:(?s:.+)}"


def includeme(config) -> None:
    config.add_static_view("static", "polybanking:static", cache_max_age=3600)

    # Websites and PostFinance (PROTOCOL §2, §3, §5): CSRF-exempt, signed instead.
    config.add_route("payment.start", "/paiements/start/")
    config.add_route("payment.go", "/paiements/go/{token}")
    config.add_route("payment.ipn", "/paiements/ipn")
    config.add_route("payment.return", "/paiements/return")

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
    config.add_route("api.transaction", f"/api/transactions/{REFERENCE}/", factory=ApiTransactionContext)


class LogsUnlessFormSaysReference:
    """``/api/transactions/x/logs/`` is the logs of ``x`` and also the details of ``x/logs``.

    The form's ``reference`` field, which the original client and ours send, says which was meant;
    without it, the logs.
    """

    def __init__(self, value: bool, config):
        self.value = value

    def text(self) -> str:
        return f"logs_unless_form_says_reference = {self.value}"

    phash = text

    def __call__(self, info, request) -> bool:
        try:
            named = request.POST.get("reference")
        except (UnicodeDecodeError, ValueError):
            named = None
        is_logs = named != f"{info['match']['reference']}/logs"
        return is_logs == self.value


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

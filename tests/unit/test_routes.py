"""The URLs are a contract (PROTOCOL, DESIGN.md habit 3): this pins the whole route table.

A failure here means a URL changed; change this table only together with PROTOCOL.md or an issue.
"""

from pyramid.interfaces import IRoutesMapper

#: name → pattern, in registration order, of the app built from testing.ini (sandbox on).
ROUTES = {
    "__static/": "static/*subpath",
    "home": "/",  # issue 17: the first page a new user opens
    # PROTOCOL §2, §3, §5
    "payment.start": "/paiements/start/",
    "payment.go": "/paiements/go/{token}",
    "payment.ipn": "/paiements/ipn",
    "payment.return": "/paiements/return",
    # PROTOCOL §11
    "payment.checkout.webhook": "/paiements/checkout/webhook",
    "payment.checkout.return": "/paiements/checkout/return/{token}",
    # The admin web interface (issue 5)
    "admin.home": "/admin/",
    "admin.login": "/admin/login",
    "admin.login.tequila": "/admin/login/tequila",
    "admin.logout": "/admin/logout",
    "admin.logout.everywhere": "/admin/logout/everywhere",
    "admin.config.list": "/admin/configs/",
    "admin.config.create": "/admin/configs/new",
    "admin.config.show": "/admin/configs/{config_id}/",
    "admin.config.edit": "/admin/configs/{config_id}/edit",
    "admin.config.active": "/admin/configs/{config_id}/active",
    "admin.config.users": "/admin/configs/{config_id}/users",
    "admin.config.log": "/admin/configs/{config_id}/log",
    "admin.config.key": "/admin/configs/{config_id}/keys/{key}",
    "admin.transaction.list": "/admin/transactions/",
    "admin.transaction.show": "/admin/transactions/{transaction_id}/",
    "admin.transaction.resend": "/admin/transactions/{transaction_id}/resend-ipn",
    "admin.transaction.operate": "/admin/transactions/{transaction_id}/operations",
    "admin.user.list": "/admin/users/",
    "admin.user.create": "/admin/users/new",
    "admin.user.edit": "/admin/users/{user_id}/edit",
    # Reconciliation pages (issue 6)
    "admin.reconciliation.list": "/admin/reconciliation/",
    "admin.reconciliation.upload": "/admin/reconciliation/new",
    "admin.reconciliation.show": "/admin/reconciliation/{run_id}/",
    "admin.reconciliation.csv": "/admin/reconciliation/{run_id}/differences.csv",
    # Exports and the summary report (issue 7)
    "admin.export.form": "/admin/exports/",
    "admin.export.download": "/admin/exports/download",
    "admin.summary.show": "/admin/summary/",
    "admin.summary.pdf": "/admin/summary/summary.pdf",
    "admin.summary.csv": "/admin/summary/summary.csv",
    # PROTOCOL §7: the reference is the rest of the path, any character (``/`` included)
    "api.openapi": "/api/openapi.yaml",
    "api.transactions": "/api/transactions/",
    "api.transaction.logs": "/api/transactions/{reference:(?s:.+)}/logs/",
    "api.transaction.refunds": "/api/transactions/{reference:(?s:.+)}/refunds/",
    "api.transaction": "/api/transactions/{reference:(?s:.+)}/",
    # Operators (issue 8): health probe and Prometheus metrics
    "monitoring.health": "/healthz",
    "monitoring.metrics": "/metrics",
    # The PostFinance sandbox (DESIGN.md): PostFinance's own paths under /sandbox/
    "sandbox.home": "/sandbox/",
    "sandbox.hosted": "/sandbox/ncol/{env}/orderstandard_utf8.asp",
    "sandbox.decide": "/sandbox/ncol/{env}/decide",
    "sandbox.query": "/sandbox/ncol/{env}/querydirect.asp",
    "sandbox.maintenance": "/sandbox/ncol/{env}/maintenancedirect.asp",
    "sandbox.transactions": "/sandbox/ncol/{env}/transactions",
    "sandbox.report": "/sandbox/ncol/{env}/report.csv",
    # The Checkout sandbox: Checkout's API paths under /sandbox/checkout/api/v2.0 (PROTOCOL §11)
    "sandbox.checkout.create": "/sandbox/checkout/api/v2.0/payment/transactions",
    "sandbox.checkout.search": "/sandbox/checkout/api/v2.0/payment/transactions/search",
    "sandbox.checkout.export": "/sandbox/checkout/api/v2.0/payment/transactions/export",
    "sandbox.checkout.read": "/sandbox/checkout/api/v2.0/payment/transactions/{id:\\d+}",
    "sandbox.checkout.page_url": "/sandbox/checkout/api/v2.0/payment/transactions/{id:\\d+}/payment-page-url",
    "sandbox.checkout.refund": "/sandbox/checkout/api/v2.0/payment/refunds/{id:\\d+}",
    "sandbox.checkout.refunds": "/sandbox/checkout/api/v2.0/payment/refunds",
    "sandbox.checkout.refund_search": "/sandbox/checkout/api/v2.0/payment/refunds/search",
    "sandbox.checkout.complete": "/sandbox/checkout/api/v2.0/payment/transactions/{id:\\d+}/complete-online",
    "sandbox.checkout.void": "/sandbox/checkout/api/v2.0/payment/transactions/{id:\\d+}/void-online",
    "sandbox.checkout.completion": "/sandbox/checkout/api/v2.0/payment/transactions/completions/{id:\\d+}",
    "sandbox.checkout.void_read": "/sandbox/checkout/api/v2.0/payment/transactions/voids/{id:\\d+}",
    "sandbox.checkout.completion_search": "/sandbox/checkout/api/v2.0/payment/transactions/completions/search",  # noqa: E501
    "sandbox.checkout.void_search": "/sandbox/checkout/api/v2.0/payment/transactions/voids/search",
    "sandbox.checkout.key": "/sandbox/checkout/api/v2.0/webhooks/encryption-keys/{id}",
    "sandbox.checkout.space": "/sandbox/checkout/api/v2.0/spaces/{id:\\d+}",
    "sandbox.checkout.pay": "/sandbox/checkout/pay/{id:\\d+}",
    "sandbox.checkout.transactions": "/sandbox/checkout/transactions",
    "sandbox.checkout.download": "/sandbox/checkout/export.csv",
    "sandbox.shop": "/sandbox/shop/",
    "sandbox.shop.back": "/sandbox/shop/back/{outcome:ok|err}",
    "sandbox.shop.ipn": "/sandbox/shop/ipn",
}


def _routes(app) -> list[tuple[str, str]]:
    return [(route.name, route.pattern) for route in app.registry.getUtility(IRoutesMapper).get_routes()]


def test_route_table_is_pinned(app):
    assert dict(_routes(app)) == ROUTES


def test_route_names_are_unique(app):
    names = [name for name, _pattern in _routes(app)]
    assert len(names) == len(set(names))


def test_routes_match_the_protocol_urls(app):
    mapper = app.registry.getUtility(IRoutesMapper)
    examples = {
        "/paiements/start/": "payment.start",
        "/paiements/go/AbC-123_xyz": "payment.go",
        "/paiements/ipn": "payment.ipn",
        "/paiements/return": "payment.return",
        "/api/openapi.yaml": "api.openapi",
        "/api/transactions/": "api.transactions",
        "/api/transactions/order-1/": "api.transaction",
        "/api/transactions/a/b/": "api.transaction",
        "/api/transactions/order-1/logs/": "api.transaction.logs",
        "/api/transactions/a/b/logs/": "api.transaction.logs",
        "/api/transactions/order-1/refunds/": "api.transaction.refunds",
        "/api/transactions/line\nbreak/": "api.transaction",
        "/sandbox/ncol/test/orderstandard_utf8.asp": "sandbox.hosted",
        "/sandbox/ncol/prod/decide": "sandbox.decide",
        "/sandbox/ncol/test/querydirect.asp": "sandbox.query",
        "/sandbox/ncol/prod/report.csv": "sandbox.report",
        "/paiements/checkout/webhook": "payment.checkout.webhook",
        "/paiements/checkout/return/AbC-123_xyz": "payment.checkout.return",
        "/sandbox/checkout/api/v2.0/payment/transactions/search": "sandbox.checkout.search",
        "/sandbox/checkout/api/v2.0/payment/transactions/42": "sandbox.checkout.read",
        "/sandbox/checkout/api/v2.0/payment/transactions/42/payment-page-url": "sandbox.checkout.page_url",
        "/healthz": "monitoring.health",
        "/metrics": "monitoring.metrics",
    }
    for path, name in examples.items():
        matched = [route.name for route in mapper.get_routes() if route.match(path) is not None]
        assert matched[:1] == [name], path


def test_api_routes_keep_the_whole_reference(app):
    mapper = app.registry.getUtility(IRoutesMapper)
    detail, logs = mapper.get_route("api.transaction"), mapper.get_route("api.transaction.logs")
    for reference in ["a/b", "..", ".", "a//b", "/lead", "trail/", "100%", "x y", "é/ü", "l\nf", "x/logs"]:
        assert detail.match(f"/api/transactions/{reference}/") == {"reference": reference}
        assert logs.match(f"/api/transactions/{reference}/logs/") == {"reference": reference}

"""Every route of the gateway; the URLs are a contract (a test pins this table)."""


def includeme(config) -> None:
    config.add_static_view("static", "polybanking:static", cache_max_age=3600)

    # Websites and PostFinance (PROTOCOL §2, §3, §5): CSRF-exempt, signed instead.
    config.add_route("payment.start", "/paiements/start/")
    config.add_route("payment.go", "/paiements/go/{token}")
    config.add_route("payment.ipn", "/paiements/ipn")
    config.add_route("payment.return", "/paiements/return")

    # Operators (issue 8): probes and Prometheus; answered to polybanking.monitoring_from only.
    config.add_route("monitoring.health", "/healthz")
    config.add_route("monitoring.metrics", "/metrics")

"""A faithful stand-in for PostFinance's e-payment platform, for development, tests and demos.

It uses the same protocol code as the gateway (``platforms/epayment/``) and never touches the gateway's
models: everything it knows arrives in the signed form, like PostFinance, and what it processed is
kept in its own ledger (``ledger.py``) for DirectLink queries and report downloads.
"""

from .ledger import Ledger

ENVIRONMENTS = ("test", "prod")


def includeme(config) -> None:
    settings = config.get_settings()
    config.add_route("sandbox.home", "/sandbox/")
    config.add_route("sandbox.hosted", "/sandbox/ncol/{env}/orderstandard_utf8.asp")
    config.add_route("sandbox.decide", "/sandbox/ncol/{env}/decide")
    # The back office: DirectLink status queries, the transactions list, the report download.
    config.add_route("sandbox.query", "/sandbox/ncol/{env}/querydirect.asp")
    config.add_route("sandbox.maintenance", "/sandbox/ncol/{env}/maintenancedirect.asp")
    config.add_route("sandbox.transactions", "/sandbox/ncol/{env}/transactions")
    config.add_route("sandbox.report", "/sandbox/ncol/{env}/report.csv")
    config.registry.sandbox_ledger = Ledger((settings.get("sandbox.ledger_file") or "").strip())
    config.scan(".views")
    config.scan(".backoffice")
    config.scan(".maintenance")

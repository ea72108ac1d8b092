"""A faithful stand-in for PostFinance's e-payment platform, for development, tests and demos.

It uses the same protocol code as the gateway (``postfinance/``) and never touches the gateway's
models: everything it knows arrives in the signed form, like PostFinance.
"""

from ..settings import SettingsError, as_bool

ENVIRONMENTS = ("test", "prod")


def includeme(config) -> None:
    settings = config.get_settings()
    if not as_bool(settings.get("sandbox.enabled", "false")):
        return
    if as_bool(settings.get("polybanking.production", "false")):
        raise SettingsError("sandbox.enabled", "the sandbox must never run in production")
    config.add_route("sandbox.home", "/sandbox/")
    config.add_route("sandbox.hosted", "/sandbox/ncol/{env}/orderstandard_utf8.asp")
    config.add_route("sandbox.decide", "/sandbox/ncol/{env}/decide")
    config.scan(".views")
    config.include(".shop")  # the demo website of `make run`

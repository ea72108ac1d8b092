"""Stand-ins for PostFinance's platforms, and a demo website, for development, tests and demos.

One folder per platform (``epayment/``, ``checkout/``), each using the gateway's own protocol code
(``platforms/``) and never its models. Nothing is mounted unless ``sandbox.enabled``, and
production refuses to start with it.
"""

from ..settings import SettingsError, as_bool


def includeme(config) -> None:
    settings = config.get_settings()
    if not as_bool(settings.get("sandbox.enabled", "false")):
        return
    if as_bool(settings.get("polybanking.production", "false")):
        raise SettingsError("sandbox.enabled", "the sandbox must never run in production")
    config.include(".epayment")
    config.include(".checkout")
    config.include(".shop")  # the demo website of `make run`

"""PolyBanking: a self-hosted PostFinance payment gateway for many small websites."""

from pyramid.config import Configurator


def main(global_config, **settings):
    """The WSGI application (paste ``main``); only wiring, in dependency order."""
    with Configurator(settings=settings) as config:
        config.include(".settings")  # checks the ini (and POLYBANKING_* variables) before anything else
        config.include("pyramid_jinja2")
        config.include(".models")  # request.dbsession inside pyramid_tm's per-request transaction
        config.include(".tasks")  # Huey built from the ini; tasks enqueued after commit
        config.include(".monitoring")  # request counters (in process); state read at scrape time
        config.include(".ingress")  # trusted proxies and body limits, before any other work
        config.include(".security")  # session cookie, security policy, CSRF by default, headers
        config.include(".routes")
        config.include(".views.admin")  # the admin pages' navigation and money/date filters
        config.include(".sandbox")  # mounts nothing unless sandbox.enabled
        config.scan(".views")
    return config.make_wsgi_app()

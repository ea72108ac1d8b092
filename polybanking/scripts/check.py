"""``polybanking --ini F check``: is this configuration fit to run, and if not, what exactly is wrong.

Every problem found is listed (not only the first), each naming the key, where its value came from
(the ini file or a ``POLYBANKING_…`` variable) and what is expected; secrets are never printed.
Without ``--offline`` it also connects: the database answers and its schema is at the newest
migration, and the queue answers. The systemd web unit runs it before starting (deploy/).
"""

import configparser
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from pyramid.paster import get_appsettings, setup_logging
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..auth import settings as auth_settings
from ..ingress import Ingress, parse_networks
from ..server import switch_interval
from ..services.ipn.schedule import load_policy
from ..settings import KNOWN_KEYS, SettingsError, as_bool, env_name, load, load_reconcile, with_environment
from ..tasks.queue import build_huey
from .check_services import migrations, reach_checkout, reach_services

#: Valid stand-ins for refused keys, so a loader can run again and find the next problem; other
#: keys get "stand-in", then their default (the key removed).
_STAND_IN = {
    "polybanking.orderid_prefix": "polybanking",
    "postfinance.hash": "sha512",
    "session.secret": "s" * 64,
    "auth.backend": "local",
    "session.secure": "true",
    "polybanking.timezone": "UTC",
    "huey.backend": "redis",
    "huey.filename": ":memory:",  # never a file: checking must not create one
}
SENSITIVE = ("sha_in", "sha_out", "password", "authentication_key")
#: The checks of each part's settings, besides the gateway's own (settings.load).
LOADERS = (
    load_reconcile,
    auth_settings.load,
    load_policy,
    Ingress.from_settings,
    lambda values: parse_networks("polybanking.monitoring_from", values.get("polybanking.monitoring_from")),
)


@dataclass
class Report:
    """What was found, and where each setting came from (to say so in each problem)."""

    ini: str
    ini_values: Mapping[str, str] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    #: Keys already reported (several loaders read the same keys).
    seen: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems

    def origin(self, key: str) -> str:
        if env_name(key) in self.environ:
            return f"from {env_name(key)}"
        if key in self.ini_values:
            return f"in {self.ini}"
        return f"not set: put it in {self.ini} or {env_name(key)}"

    def problem(self, key: str, text: str) -> None:
        """One problem with ``key``, saying where its value came from; each key once."""
        if key not in self.seen:
            self.seen.add(key)
            self.problems.append(f"{key}: {text} ({self.origin(key)})")

    def refused(self, error: SettingsError) -> None:
        self.problem(error.key, str(error).split(": ", 1)[-1])


def _stand_in(key: str, attempt: int) -> str | None:
    if attempt == 0:
        return _STAND_IN.get(
            key, "https://stand-in.invalid/" if key.endswith(("url", "server")) else "stand-in"
        )
    return None  # second time: drop the key, so its default applies


def _loader_problems(loader, raw: Mapping[str, str], report: Report):
    """Run one settings loader until it passes, replacing each refused key to find the next problem;
    what the loader returns, or None when it could not be satisfied."""
    values = dict(raw)
    attempts: dict[str, int] = {}
    for _ in range(2 * len(KNOWN_KEYS)):
        try:
            return loader(values)
        except SettingsError as error:
            report.refused(error)
            attempt = attempts.get(error.key, 0)
            if attempt > 1:
                return None
            attempts[error.key] = attempt + 1
            stand_in = _stand_in(error.key, attempt)
            if stand_in is None:
                values.pop(error.key, None)
            else:
                values[error.key] = stand_in
    return None


def _app_problems(raw: Mapping[str, str], report: Report) -> None:
    """Build the whole app (nothing connects yet): any part's start-up check not covered above."""
    from .. import main

    try:
        app = main({}, **raw)
    except SettingsError as error:
        report.refused(error)
    except Exception as error:  # the operator needs the reason, not a traceback
        first = (str(error).strip().splitlines() or [""])[0][:200]
        report.problems.append(f"the application does not start: {type(error).__name__}: {first}")
    else:
        app.registry["dbengine"].dispose()


def _production_problems(raw: Mapping[str, str], report: Report, settings) -> None:
    if as_bool(raw.get("sandbox.enabled", "false")):
        report.problem(
            "sandbox.enabled",
            "must be false in production: the sandbox would accept payments that PostFinance never saw",
        )
    if settings is not None and settings.allow_private_destinations:
        report.problem(
            "ipn.allow_private_destinations",
            "must be false in production: a config's IPN URL could reach this host and its network",
        )
    if settings is not None and not settings.base_url.startswith("https://"):
        report.problem("polybanking.base_url", "must be an https:// URL in production")
    backend = (raw.get("huey.backend") or "sqlite").strip()
    if backend == "memory":
        report.problem("huey.backend", "memory loses tasks and is not shared with the workers; use redis")
    elif backend == "sqlite":
        report.warnings.append("huey.backend: sqlite cannot be shared between hosts; use redis to scale out")
    if settings is not None and settings.prod is None:
        report.warnings.append("postfinance.prod.*: not set, so only test-mode configs can take payments")
    if not (raw.get("polybanking.trusted_proxies") or "").strip():
        report.warnings.append(
            "polybanking.trusted_proxies: empty, so X-Forwarded-* headers are ignored: client "
            "addresses will be the proxy's (set it to nginx's address)"
        )
    _server_problems(report, raw)
    for key, value in report.ini_values.items():
        if key.split(".")[-1] in SENSITIVE and value.strip() and env_name(key) not in report.environ:
            report.warnings.append(f"{key}: a secret written in {report.ini}; prefer {env_name(key)}")


def _server_problems(report: Report, raw: Mapping[str, str]) -> None:
    """The web server's options that the app depends on (``egg:polybanking#waitress``)."""
    parser = configparser.RawConfigParser()  # raw: production.ini's listen needs pserve's http_port
    try:
        parser.read(report.ini, encoding="utf-8")
        server = dict(parser.items("server:main"))
    except (configparser.Error, UnicodeDecodeError):
        return  # no [server:main]: served by something else
    if "switch_interval_ms" in server:
        try:
            switch_interval(server["switch_interval_ms"])
        except ValueError as error:
            report.problems.append(f"[server:main] {error}")
    # waitress drops X-Forwarded-* itself unless told not to; then trusted_proxies would never apply.
    if not (raw.get("polybanking.trusted_proxies") or "").strip():
        return
    if "waitress" in server.get("use", "") and as_bool(server.get("clear_untrusted_proxy_headers", "true")):
        report.problems.append(
            "[server:main] clear_untrusted_proxy_headers: must be false with polybanking.trusted_proxies, "
            "or waitress drops the proxy's X-Forwarded-* headers before the app sees them"
        )


def _database_url_problem(raw: Mapping[str, str], report: Report, production: bool):
    value = (raw.get("sqlalchemy.url") or "").strip()
    if not value:
        report.problem("sqlalchemy.url", "is required")
        return None
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        report.problem("sqlalchemy.url", "not a database URL")  # the error would repeat the password
        return None
    report.seen.add("sqlalchemy.url")
    if production and url.get_backend_name() != "postgresql":
        report.warnings.append(
            "sqlalchemy.url: production expects PostgreSQL (several processes and hosts share it)"
        )
    return url


def check_configuration(
    ini: str,
    environ: Mapping[str, str] | None = None,
    offline: bool = False,
    configure_logging: bool = False,
) -> Report:
    """Every problem of ``ini`` (with ``environ``'s overrides); ``configure_logging`` also applies
    its logging sections, which checks them but changes the calling process's logging."""
    environ = os.environ if environ is None else environ
    report = Report(ini, environ=environ)
    if not os.path.exists(ini):
        report.problems.append(f"{ini}: no such file (use --ini or $POLYBANKING_INI)")
        return report
    try:
        report.ini_values = dict(get_appsettings(ini))
    except (LookupError, configparser.Error, ValueError) as error:
        first = (str(error).strip().splitlines() or ["unreadable"])[0]
        report.problems.append(f"{ini}: cannot be read as a PasteDeploy ini with [app:main]: {first}")
        return report
    if configure_logging:  # the command's own process only: fileConfig replaces every logger
        try:
            setup_logging(ini)
        except (KeyError, ValueError, ImportError, AttributeError, TypeError, configparser.Error) as error:
            report.problems.append(f"logging sections of {ini}: {type(error).__name__}: {error}")
    raw = with_environment(report.ini_values, environ)
    production = as_bool(raw.get("polybanking.production", "false"))
    settings = _loader_problems(load, raw, report)
    url = _database_url_problem(raw, report, production)
    for loader in LOADERS:
        _loader_problems(loader, raw, report)
    try:
        _loader_problems(build_huey, raw, report)
    except ArgumentError:
        pass  # huey's default file is derived from sqlalchemy.url, already reported
    except ValueError as error:  # redis refuses a malformed huey.url
        report.problem("huey.url", str(error))
    if production:
        _production_problems(raw, report, settings)
    if report.ok:
        _app_problems(raw, report)
    scripts = migrations(ini, report)
    if not offline and url is not None:
        reach_services(raw, scripts, report)
    if not offline and settings is not None:
        reach_checkout(settings, report)
    return report


def print_report(report: Report) -> int:
    """Problems and warnings on stderr, one per line; exit status 1 when there is a problem."""
    for problem in report.problems:
        print(f"{report.ini}: error: {problem}", file=sys.stderr)
    for warning in report.warnings:
        print(f"{report.ini}: warning: {warning}", file=sys.stderr)
    if report.ok:
        print(f"{report.ini}: configuration OK" + (f" ({', '.join(report.facts)})" if report.facts else ""))
        return 0
    print(f"{report.ini}: {len(report.problems)} problem(s) found", file=sys.stderr)
    return 1

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
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError as AlembicCommandError
from pyramid.paster import get_appsettings, setup_logging
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..auth import settings as auth_settings
from ..ingress import Ingress, parse_networks
from ..models import get_engine
from ..services.ipn_schedule import load_policy
from ..settings import KNOWN_KEYS, SettingsError, as_bool, env_name, load, load_reconcile, with_environment
from ..tasks.queue import build_huey

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
}
SENSITIVE = ("sha_in", "sha_out", "password")


@dataclass
class Report:
    ini: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _origin(key: str, ini_values: Mapping[str, str], environ: Mapping[str, str], ini: str) -> str:
    if env_name(key) in environ:
        return f"from {env_name(key)}"
    if key in ini_values:
        return f"in {ini}"
    return f"not set: put it in {ini} or {env_name(key)}"


def _refused(error: SettingsError, ini_values, environ, report: Report) -> None:
    problem = str(error).split(": ", 1)[-1]
    report.problems.append(f"{error.key}: {problem} ({_origin(error.key, ini_values, environ, report.ini)})")


def _stand_in(key: str, attempt: int) -> str | None:
    if attempt == 0:
        return _STAND_IN.get(
            key, "https://stand-in.invalid/" if key.endswith(("url", "server")) else "stand-in"
        )
    return None  # second time: drop the key, so its default applies


def _loader_problems(loader, raw: Mapping[str, str], ini_values, environ, report: Report, seen: set[str]):
    """Run one settings loader until it passes, replacing each refused key to find the next problem.

    Returns what the loader returns, or None when it could not be satisfied. ``seen`` holds the keys
    already reported (several loaders read the same keys)."""
    values = dict(raw)
    attempts: dict[str, int] = {}
    for _ in range(2 * len(KNOWN_KEYS)):
        try:
            return loader(values)
        except SettingsError as error:
            if error.key not in seen:
                seen.add(error.key)
                _refused(error, ini_values, environ, report)
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


def _app_problems(raw: Mapping[str, str], ini_values, environ, report: Report, seen: set[str]) -> None:
    """Build the whole app (nothing connects yet): any part's start-up check not covered above."""
    from .. import main

    try:
        app = main({}, **raw)
    except SettingsError as error:
        if error.key not in seen:
            seen.add(error.key)
            _refused(error, ini_values, environ, report)
    except Exception as error:  # the operator needs the reason, not a traceback
        first = (str(error).strip().splitlines() or [""])[0][:200]
        report.problems.append(f"the application does not start: {type(error).__name__}: {first}")
    else:
        app.registry["dbengine"].dispose()


def _production_problems(raw: Mapping[str, str], ini_values, environ, report: Report, settings) -> None:
    if as_bool(raw.get("sandbox.enabled", "false")):
        report.problems.append(
            "sandbox.enabled: must be false in production: the sandbox would accept payments that "
            f"PostFinance never saw ({_origin('sandbox.enabled', ini_values, environ, report.ini)})"
        )
    if settings is not None and not settings.base_url.startswith("https://"):
        origin = _origin("polybanking.base_url", ini_values, environ, report.ini)
        report.problems.append(f"polybanking.base_url: must be an https:// URL in production ({origin})")
    backend = (raw.get("huey.backend") or "sqlite").strip()
    if backend == "memory":
        origin = _origin("huey.backend", ini_values, environ, report.ini)
        report.problems.append(
            f"huey.backend: memory loses tasks and is not shared with the workers; use redis ({origin})"
        )
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
    for key in ini_values:
        if key.split(".")[-1] in SENSITIVE and ini_values[key].strip() and env_name(key) not in environ:
            report.warnings.append(f"{key}: a secret written in {report.ini}; prefer {env_name(key)}")


def _server_problems(report: Report, raw: Mapping[str, str]) -> None:
    """waitress drops X-Forwarded-* itself unless told not to; then trusted_proxies would never apply."""
    if not (raw.get("polybanking.trusted_proxies") or "").strip():
        return
    parser = configparser.RawConfigParser()  # raw: production.ini's listen needs pserve's http_port
    try:
        parser.read(report.ini, encoding="utf-8")
        server = dict(parser.items("server:main"))
    except (configparser.Error, UnicodeDecodeError):
        return  # no [server:main]: served by something else
    if "waitress" in server.get("use", "") and as_bool(server.get("clear_untrusted_proxy_headers", "true")):
        report.problems.append(
            "[server:main] clear_untrusted_proxy_headers: must be false with polybanking.trusted_proxies, "
            "or waitress drops the proxy's X-Forwarded-* headers before the app sees them"
        )


def _database_url_problem(raw: Mapping[str, str], ini_values, environ, report: Report, production: bool):
    value = (raw.get("sqlalchemy.url") or "").strip()
    origin = _origin("sqlalchemy.url", ini_values, environ, report.ini)
    if not value:
        report.problems.append(f"sqlalchemy.url: is required ({origin})")
        return None
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        # The message would repeat the URL, password included.
        report.problems.append(f"sqlalchemy.url: not a database URL ({origin})")
        return None
    if production and url.get_backend_name() != "postgresql":
        report.warnings.append(
            "sqlalchemy.url: production expects PostgreSQL (several processes and hosts share it)"
        )
    return url


def _alembic(ini: str, report: Report) -> ScriptDirectory | None:
    try:
        location = AlembicConfig(ini).get_main_option("script_location")
    except AlembicCommandError:
        location = None
    if not location:
        report.problems.append(f"[alembic] script_location: missing from {ini} (needed by initdb)")
        return None
    if not (Path(location) / "env.py").exists():
        report.problems.append(f"[alembic] script_location: {location} holds no migrations (no env.py)")
        return None
    return ScriptDirectory(location)


def _connect(raw: dict, scripts: ScriptDirectory | None, report: Report) -> None:
    try:
        engine = get_engine(raw)
        try:
            with engine.connect() as connection:
                current = set(MigrationContext.configure(connection).get_current_heads())
        finally:
            engine.dispose()
        report.facts.append("database reachable")
        if scripts is not None:
            heads = set(scripts.get_heads())
            if current != heads:
                have = ", ".join(sorted(current)) or "empty"
                report.problems.append(
                    f"database: schema is at {have}, this version needs {', '.join(sorted(heads))}: "
                    f"run `polybanking --ini {report.ini} initdb`"
                )
            else:
                report.facts.append(f"schema at {', '.join(sorted(heads))}")
    except Exception as error:  # the driver's reason, first line only (never the SQL or the URL)
        reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__])[
            0
        ]
        report.problems.append(f"sqlalchemy.url: cannot connect to the database: {reason}")
    try:
        huey = build_huey(raw)
        huey.pending_count()
        report.facts.append("queue reachable")
    except SettingsError:
        pass  # already reported
    except Exception as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        report.problems.append(f"huey.url: cannot reach the queue: {reason}")


def check_configuration(
    ini: str,
    environ: Mapping[str, str] | None = None,
    offline: bool = False,
    configure_logging: bool = False,
) -> Report:
    """Every problem of ``ini`` (with ``environ``'s overrides); ``configure_logging`` also applies
    its logging sections, which checks them but changes the calling process's logging."""
    environ = os.environ if environ is None else environ
    report = Report(ini)
    if not os.path.exists(ini):
        report.problems.append(f"{ini}: no such file (use --ini or $POLYBANKING_INI)")
        return report
    try:
        ini_values = dict(get_appsettings(ini))
    except (LookupError, configparser.Error, ValueError) as error:
        first = (str(error).strip().splitlines() or ["unreadable"])[0]
        report.problems.append(f"{ini}: cannot be read as a PasteDeploy ini with [app:main]: {first}")
        return report
    if configure_logging:  # the command's own process only: fileConfig replaces every logger
        try:
            setup_logging(ini)
        except (KeyError, ValueError, ImportError, AttributeError, TypeError, configparser.Error) as error:
            report.problems.append(f"logging sections of {ini}: {type(error).__name__}: {error}")
    raw = with_environment(ini_values, environ)
    production = as_bool(raw.get("polybanking.production", "false"))
    seen: set[str] = set()
    settings = _loader_problems(load, raw, ini_values, environ, report, seen)
    url = _database_url_problem(raw, ini_values, environ, report, production)
    if url is not None:
        seen.add("sqlalchemy.url")
    loaders = (
        load_reconcile,
        auth_settings.load,
        load_policy,
        Ingress.from_settings,
        lambda values: parse_networks(
            "polybanking.monitoring_from", values.get("polybanking.monitoring_from")
        ),
    )
    for loader in loaders:
        _loader_problems(loader, raw, ini_values, environ, report, seen)
    try:
        _loader_problems(build_huey, raw, ini_values, environ, report, seen)
    except ArgumentError:
        pass  # huey's default file is derived from sqlalchemy.url, already reported
    except ValueError as error:  # redis refuses a malformed huey.url
        seen.add("huey.url")
        report.problems.append(f"huey.url: {error} ({_origin('huey.url', ini_values, environ, ini)})")
    if production:
        _production_problems(raw, ini_values, environ, report, settings)
    if report.ok:
        _app_problems(raw, ini_values, environ, report, seen)
    scripts = _alembic(ini, report)
    if not offline and url is not None:
        _connect(raw, scripts, report)
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

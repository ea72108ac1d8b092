"""What the ``polybanking`` command does; each function loads the ini it is given."""

import getpass
import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import transaction
from pyramid.paster import get_appsettings, setup_logging
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..models import Config, ConfigLog, get_engine, get_session_factory, get_tm_session
from ..models.config import IPN_FORM, IPN_FORMATS
from ..models.reconciliation_run import COMMAND
from ..platforms import CHECKOUT, EPAYMENT, PLATFORMS
from ..services.ipn.destinations import url_problem
from ..settings import Settings, SettingsError, load, with_environment

log = logging.getLogger(__name__)


class CommandError(Exception):
    """A one-line explanation for the operator."""


def read_settings(ini: str) -> tuple[dict, Settings]:
    if not os.path.exists(ini):
        raise CommandError(f"settings file {ini!r} not found (use --ini or $POLYBANKING_INI)")
    try:
        setup_logging(ini)
        raw = with_environment(get_appsettings(ini))
        return raw, load(raw)
    except SettingsError as error:
        raise CommandError(str(error)) from None


@contextmanager
def database_errors(hint: str = "") -> Iterator[None]:
    """A database failure as one line: the driver's message only, never the SQL or its parameters
    (an INSERT's parameters hold the new secrets)."""
    try:
        yield
    except SQLAlchemyError as error:
        cause = error.orig if isinstance(error, DBAPIError) else error
        message = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise CommandError(f"database error: {message}{hint}") from None


def initdb(ini: str) -> None:
    """Create or upgrade the schema with Alembic, so every database has the same history."""
    from alembic import command as alembic_command  # imported here: it doubles every command's start-up
    from alembic.config import Config as AlembicConfig

    raw, _settings = read_settings(ini)
    alembic_config = AlembicConfig(ini)
    if not alembic_config.get_main_option("script_location"):
        raise CommandError(f"{ini} has no [alembic] section with script_location")
    with database_errors():
        engine = get_engine(raw)
        with engine.begin() as connection:
            alembic_config.attributes["connection"] = connection
            alembic_command.upgrade(alembic_config, "head")
        engine.dispose()


def _check_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError(f"--{name} must be an http(s) URL, not {value!r}")
    return value


def _describe(config: Config) -> dict:
    return {
        "id": config.id,
        "name": config.name,
        "key_request": config.key_request,
        "key_ipn": config.key_ipn,
        "key_api": config.key_api,
        "test_mode": config.test_mode,
        "api_refunds": config.api_refunds,
        "platform": config.platform,
        "ipn_format": config.ipn_format,
    }


def create_config(
    ini: str,
    *,
    name: str,
    url_ipn: str,
    url_back_ok: str,
    url_back_err: str,
    group: str = "",
    live: bool = False,
    platform: str = EPAYMENT,
    ipn_format: str = IPN_FORM,
    max_amount: int | None = None,
    reuse: bool = False,
    api_refunds: bool = False,
) -> dict:
    raw, settings = read_settings(ini)
    name = name.strip()
    if not name or len(name) > 255:
        raise CommandError("--name must be 1 to 255 characters")
    for option, value in (("url-ipn", url_ipn), ("url-back-ok", url_back_ok), ("url-back-err", url_back_err)):
        _check_url(option, value)
    problem = url_problem(url_ipn, settings.allow_private_destinations)
    if problem:
        raise CommandError(f"--url-ipn {problem}: {url_ipn!r} (ipn.allow_private_destinations)")
    if max_amount is not None and max_amount <= 0:
        raise CommandError("--max-amount must be a positive number of cents")
    if live and settings.prod is None:
        raise CommandError("--live needs the postfinance.prod.* settings")
    if ipn_format not in IPN_FORMATS:
        raise CommandError(f"--ipn-format must be one of {', '.join(IPN_FORMATS)}")
    if platform not in PLATFORMS:
        raise CommandError(f"--platform must be one of {', '.join(PLATFORMS)}")
    if platform == CHECKOUT and (settings.checkout_live if live else settings.checkout_test) is None:
        raise CommandError(f"--platform checkout needs the checkout.{'live' if live else 'test'}.* settings")

    fields = {
        "name": name,
        "url_ipn": url_ipn,
        "url_back_ok": url_back_ok,
        "url_back_err": url_back_err,
        "group": group,
        "test_mode": not live,
        "platform": platform,
        "ipn_format": ipn_format,
        "max_amount": max_amount,
        "api_refunds": api_refunds,
    }
    with database_errors(" (has `polybanking initdb` been run?)"):
        engine = get_engine(raw)
        try:
            return _store_config(get_session_factory(engine), fields, reuse)
        finally:
            engine.dispose()


def _store_config(session_factory, fields: dict, reuse: bool) -> dict:
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        dbsession = get_tm_session(session_factory, manager)
        from ..services.admin.configs import named

        existing = named(dbsession, fields["name"])
        if existing is not None:
            if reuse:
                return _describe(existing)
            raise CommandError(
                f"config {existing.id} is already named {fields['name']!r}: choose another name "
                "(or --reuse to print that one)"
            )
        config = Config(**fields)
        dbsession.add(config)
        dbsession.flush()
        dbsession.add(ConfigLog(config=config, text="created from the command line (secrets generated)"))
        return _describe(config)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return f"uid {os.getuid()}"


def _checkout_export(settings: Settings, live: bool) -> io.BytesIO:
    """The environment's Checkout space's whole export, asked of Checkout's API (the SDK)."""
    from ..platforms import PlatformError
    from ..platforms.checkout.export import FIELDS, OPTIONAL
    from ..services.payments.platforms import checkout_platform

    try:
        env = settings.checkout(not live)
        return io.BytesIO(checkout_platform(settings, env).export([*FIELDS.values(), *OPTIONAL.values()]))
    except (SettingsError, PlatformError) as error:
        raise CommandError(f"cannot get Checkout's export: {error}") from None


def compare(
    ini: str, path: str | None, *, live: bool, csv_path: str | None = None, checkout_api: bool = False
) -> int:
    """Compare a report file (or, with ``checkout_api``, Checkout's export asked of its API) and
    store the run; 0 all match, 1 differences, 2 unreadable."""
    from ..services.reconcile.runs import differences_csv, item_line, reconcile_file, summary_lines

    raw, settings = read_settings(ini)
    if checkout_api:
        stream = _checkout_export(settings, live)
        path = f"checkout-{'live' if live else 'test'}-export.csv"
    elif path is None:
        raise CommandError("name a report file, or use --checkout-api")
    else:
        try:
            stream = open(path, "rb")  # noqa: SIM115 (closed below, after the database work)
        except OSError as error:
            raise CommandError(f"cannot read {path!r}: {error.strerror or error}") from None
    actor = f"command line ({_os_user()})"
    with stream, database_errors(" (has `polybanking initdb` been run?)"):
        engine = get_engine(raw)
        try:
            manager = transaction.TransactionManager(explicit=True)
            with manager:
                dbsession = get_tm_session(get_session_factory(engine), manager)
                name = os.path.basename(path)
                outcome = reconcile_file(
                    dbsession, settings, stream, name, live=live, actor=actor, source=COMMAND
                )
                run = outcome.run
                lines = summary_lines(run)
                items = outcome.comparison.items if outcome.comparison else []
                lines += [item_line(item) for item in items]
                lines.append(f"Stored as run {run.id}.")
        finally:
            engine.dispose()
    print("\n".join(lines))
    if csv_path and outcome.comparison is not None:
        with open(csv_path, "w", encoding="utf-8", newline="") as out:
            out.write(differences_csv(items))
    if outcome.comparison is None:
        return 2
    return 0 if run.matches else 1


def read_password(stream) -> str:
    """The first line of ``stream`` (a pipe or a terminal), without its line ending."""
    line = stream.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CommandError("give the password on standard input (one line)")
    return password


@contextmanager
def _session(ini: str):
    """A committed session on the ini's database, with database errors as one line."""
    raw, _settings = read_settings(ini)
    with database_errors(" (has `polybanking initdb` been run?)"):
        engine = get_engine(raw)
        try:
            manager = transaction.TransactionManager(explicit=True)
            with manager:
                yield get_tm_session(get_session_factory(engine), manager)
        finally:
            engine.dispose()


def create_user(
    ini: str, *, username: str, password: str, superuser: bool = False, staff: bool = False
) -> int:
    from ..services.admin.users import UserError
    from ..services.admin.users import create_user as create

    with _session(ini) as dbsession:
        try:
            user = create(dbsession, username, password, superuser=superuser, staff=staff)
        except UserError as error:
            raise CommandError(str(error)) from None
        return user.id


def allow_user(ini: str, *, config_id: str, username: str, allowed: bool) -> bool:
    """``config allow`` / ``config deny``: whether anything changed."""
    from ..services.admin.configs import allow
    from ..services.admin.users import find_by_username

    with _session(ini) as dbsession:
        config = find_config(dbsession, config_id)
        user = find_by_username(dbsession, username)
        if user is None:
            raise CommandError(f"no user {username!r}")
        return allow(dbsession, config, user, allowed, acting=None)


def find_config(dbsession, text: str) -> Config:
    """The config a command names by its number or its exact name, or a one-line refusal."""
    from ..services.admin.configs import find

    config = find(dbsession, text)
    if config is None:
        raise CommandError(f"no config numbered or named {text!r} (`polybanking config list` shows them)")
    return config


def list_configs(ini: str) -> list[dict]:
    """``config list``: every config, without its keys."""
    from ..services.admin.configs import listing

    with _session(ini) as dbsession:
        return listing(dbsession)


def run_worker(ini: str, workers: int = 2) -> None:
    """The Huey consumer with the same queue and tasks as the web app."""
    from ..tasks import TaskContext, build_huey, register_tasks
    from ..tasks.consumer import build_consumer

    raw, settings = read_settings(ini)
    if workers < 1:
        raise CommandError("--workers must be at least 1")
    try:
        huey = build_huey(raw)
        context = TaskContext(get_session_factory(get_engine(raw)), settings, raw)
        tasks = register_tasks(huey, context)
    except SettingsError as error:
        raise CommandError(str(error)) from None
    consumer = build_consumer(huey, workers, tasks.ipn_policy.scan_interval)
    log.info(
        "worker started with %d threads; IPN outbox scanned every %d s",
        workers,
        tasks.ipn_policy.scan_interval,
    )
    try:
        consumer.run()
    finally:
        tasks.ipn_deliverer.close()

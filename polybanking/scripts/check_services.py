"""The online part of ``polybanking check``: the migrations exist, the database answers at the
newest migration, the queue answers. Reasons are the driver's first line, never a URL or SQL."""

from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError as AlembicCommandError

from ..models import get_engine
from ..platforms import PlatformError
from ..services.payments.platforms import checkout_platform
from ..settings import Settings, SettingsError
from ..tasks.queue import build_huey


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return (text.splitlines() or [type(error).__name__])[0]


def migrations(ini: str, report) -> ScriptDirectory | None:
    """The migrations named by ``[alembic] script_location`` (initdb needs them)."""
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


def reach_services(raw: dict, scripts: ScriptDirectory | None, report) -> None:
    """Connect to the database (and compare its schema with the migrations), then to the queue."""
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
    except Exception as error:  # any driver or network failure is "cannot connect"
        report.problems.append(f"sqlalchemy.url: cannot connect to the database: {_first_line(error)}")
    try:
        build_huey(raw).pending_count()
        report.facts.append("queue reachable")
    except SettingsError:
        pass  # already reported
    except Exception as error:
        report.problems.append(f"huey.url: cannot reach the queue: {_first_line(error)}")


def reach_checkout(settings: Settings, report) -> None:
    """Each configured Checkout space answers its application user (PROTOCOL §11)."""
    for env in (settings.checkout_test, settings.checkout_live):
        if env is None:
            continue
        try:
            checkout_platform(settings, env).check_access()
            report.facts.append(f"Checkout {env.name} space reachable")
        except PlatformError as error:
            report.problems.append(f"checkout.{env.name}.*: space {env.space_id} does not answer: {error}")

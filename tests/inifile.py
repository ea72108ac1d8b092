"""Writing a settings file for child processes (worker, pserve) from a settings dict."""

from pathlib import Path

ALEMBIC = Path(__file__).resolve().parent.parent / "alembic"

LOGGING = """
[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = INFO
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)s %(name)s %(message)s
"""


def write_ini(path: Path, settings: dict, listen: str | None = None) -> str:
    """An ini with ``[app:main]`` from ``settings`` (``%`` escaped) and, if given, a waitress server."""
    lines = ["[app:main]", "use = egg:polybanking"]
    lines += [f"{key} = {str(value).replace('%', '%%')}" for key, value in settings.items()]
    lines += ["", "[alembic]", f"script_location = {ALEMBIC}"]
    if listen:
        lines += ["", "[server:main]", "use = egg:polybanking#waitress", f"listen = {listen}", "threads = 8"]
    path.write_text("\n".join(lines) + "\n" + LOGGING)
    return str(path)

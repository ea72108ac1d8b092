"""Background work on Huey: the queue built from the ini, and the tasks registered on it."""

from collections.abc import Mapping

from ..settings import SettingsError
from .breaker import DEFAULT_OPEN_SECONDS, QueueBreaker
from .context import TaskContext
from .queue import build_huey, register_tasks

#: How long the web process waits for Redis when queueing after commit (``huey.enqueue_timeout_ms``).
DEFAULT_ENQUEUE_TIMEOUT_MS = 50.0


def _positive(settings: Mapping[str, str], key: str, default: float, most: float) -> float:
    raw = (settings.get(key) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(key, f"a number, not {raw!r}") from None
    if not 0 < value <= most:
        raise SettingsError(key, f"more than 0 and at most {most:g}, not {raw}")
    return value


def includeme(config) -> None:
    """registry.huey, registry.tasks and registry.queue_breaker for the web app.

    The worker builds the same queue and tasks from the ini, without the web's short Redis
    timeout: nobody waits on its side.
    """
    settings = config.get_settings()
    timeout_ms = _positive(settings, "huey.enqueue_timeout_ms", DEFAULT_ENQUEUE_TIMEOUT_MS, 10_000)
    huey = build_huey(settings, redis_timeout=timeout_ms / 1000)
    context = TaskContext(
        session_factory=config.registry["dbsession_factory"],
        settings=config.registry.pb_settings,
        raw_settings=settings,
    )
    config.registry.huey = huey
    config.registry.tasks = register_tasks(huey, context)
    config.registry.queue_breaker = QueueBreaker(
        _positive(settings, "huey.breaker_seconds", DEFAULT_OPEN_SECONDS, 3600)
    )

"""Background work on Huey: the queue built from the ini, and the tasks registered on it."""

from .context import TaskContext
from .queue import build_huey, register_tasks


def includeme(config) -> None:
    """registry.huey and registry.tasks for the web app (the worker builds the same from the ini)."""
    settings = config.get_settings()
    huey = build_huey(settings)
    context = TaskContext(
        session_factory=config.registry["dbsession_factory"],
        settings=config.registry.pb_settings,
        raw_settings=settings,
    )
    config.registry.huey = huey
    config.registry.tasks = register_tasks(huey, context)

"""The Huey instance (from the ini), enqueue-after-commit, and the registration of every task."""

import logging
import os
from collections.abc import Mapping
from types import SimpleNamespace

import transaction
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from redis import ConnectionPool
from sqlalchemy.engine import make_url

from ..outages import describe
from ..services.ipn.schedule import load_policy
from ..settings import SettingsError, as_bool
from . import checkout, ipn, operations, reconcile
from .breaker import QueueBreaker
from .context import TaskContext

log = logging.getLogger(__name__)

BACKENDS = ("sqlite", "redis", "memory")


def _default_sqlite_file(settings: Mapping[str, str]) -> str:
    """The queue file next to the SQLite database, so a fresh machine needs no server."""
    url = make_url(settings.get("sqlalchemy.url", ""))
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise SettingsError("huey.filename", "is required when the database is not an SQLite file")
    root, _ext = os.path.splitext(url.database)
    return root + "-huey.sqlite"


def build_huey(settings: Mapping[str, str], redis_timeout: float | None = None) -> Huey:
    """The queue of the ini's ``huey.*`` keys.

    ``redis_timeout`` (seconds) bounds each Redis connect and answer: the web process gives a short
    one so a hanging Redis never holds a request (the worker keeps redis-py's defaults).
    """
    backend = (settings.get("huey.backend") or "sqlite").strip()
    immediate = as_bool(settings.get("huey.immediate", "false"))
    name = (settings.get("huey.name") or "polybanking").strip()
    if backend == "sqlite":
        filename = (settings.get("huey.filename") or "").strip() or _default_sqlite_file(settings)
        return SqliteHuey(name, filename=filename, immediate=immediate)
    if backend == "redis":
        url = (settings.get("huey.url") or "").strip()
        if not url:
            raise SettingsError("huey.url", "is required with huey.backend = redis")
        if redis_timeout is None:
            return RedisHuey(name, url=url, immediate=immediate)
        pool = ConnectionPool.from_url(url)
        # Set after the URL's own options (production.ini's socket_timeout=10 is the worker's),
        # which from_url would let override these.
        pool.connection_kwargs.update(socket_timeout=redis_timeout, socket_connect_timeout=redis_timeout)
        return RedisHuey(name, connection_pool=pool, immediate=immediate)
    if backend == "memory":
        return MemoryHuey(name, immediate=immediate)
    raise SettingsError("huey.backend", f"one of {', '.join(BACKENDS)}, not {backend!r}")


def enqueue_after_commit(
    manager: transaction.TransactionManager,
    task,
    *args,
    breaker: QueueBreaker | None = None,
    subject: str = "",
) -> None:
    """Queue ``task(*args)`` only once the current transaction has committed.

    A worker then never sees a row that is not there yet, and a rolled-back request queues nothing.
    The message is only a shortcut (the outbox scan finds whatever is due), so a queue that fails
    or hangs never fails the request: the failure is logged naming the transaction, and with a
    ``breaker`` (the web process's) the next ones are deferred at once while the queue is away.
    ``subject`` names what the message is about in the logs (default: the transaction whose id
    is the first argument).
    """
    what = f"{getattr(task, 'name', 'task')} for {subject or f'transaction {args[0]}'}"

    def enqueue() -> None:
        task(*args)

    def hook(committed: bool) -> None:
        if not committed:
            return
        if breaker is not None:
            breaker.call(what, enqueue)
            return
        try:
            enqueue()
        except Exception as error:  # the outbox scan delivers it anyway
            log.warning("%s not queued (%s); left to the outbox scan", what, describe(error))

    manager.get().addAfterCommitHook(hook)


def register_tasks(huey: Huey, context: TaskContext) -> SimpleNamespace:
    """Every task, bound to ``huey`` and ``context``; web app and worker register the same names."""
    policy = load_policy(context.raw_settings)  # a bad ipn.* key stops start-up, naming the key
    send_ipn, deliver_due_ipns, deliverer = ipn.register(huey, context, policy)
    reconciliation = reconcile.register(huey, context, send_ipn)
    operation_tasks = operations.register(huey, context, send_ipn)
    checkout_refresh, checkout_refund_refresh = checkout.register(huey, context, send_ipn)
    return SimpleNamespace(
        send_ipn=send_ipn,
        deliver_due_ipns=deliver_due_ipns,
        ipn_deliverer=deliverer,
        ipn_policy=policy,
        checkout_refresh=checkout_refresh,
        checkout_refund_refresh=checkout_refund_refresh,
        **vars(reconciliation),
        **vars(operation_tasks),
    )

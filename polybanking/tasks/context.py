"""What every task is given, and the transaction each task runs in.

Its own module so that the queue (which registers the tasks) and each domain's tasks import it,
and never each other.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import transaction
from sqlalchemy.orm import Session, sessionmaker

from ..models import get_tm_session
from ..settings import Settings


@dataclass(frozen=True)
class TaskContext:
    """What a task needs, injected at registration so tests and the worker can supply their own."""

    session_factory: sessionmaker[Session]
    settings: Settings
    raw_settings: Mapping[str, str]


@contextmanager
def task_transaction(context: TaskContext) -> Iterator[Session]:
    """A session in a transaction of the task's own: committed on success, aborted on error."""
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        yield get_tm_session(context.session_factory, manager)

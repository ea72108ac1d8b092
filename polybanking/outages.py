"""One log line when a dependency goes down, one when it comes back: the lines an operator acts on.

Between the two, failures are counted, not logged one by one with a traceback: the down line says
what failed first, the back line how long it lasted and how much work was deferred meanwhile
(IPNs left to the outbox scan, requests answered 503). Thread-safe; shared by a process's threads.
"""

import logging
import threading
import time
from collections.abc import Callable


def describe(error: BaseException) -> str:
    """The exception's class and first line: enough to act on, never a whole SQL statement."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")


class Outage:
    """The state of one dependency (the database, the task queue) as this process saw it."""

    def __init__(
        self,
        name: str,
        deferred_what: str,
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        self.deferred_what = deferred_what  # "tasks left to the outbox scan", "requests answered 503"
        self.log = logger
        self.clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._deferred_now = 0
        #: Over the process's life, for /metrics.
        self.deferred_total = 0
        self.outages_total = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, error: BaseException, context: str = "") -> bool:
        """Note a failure; logs the "down" line only for the first one. True if it was the first."""
        with self._lock:
            if self._down_since is not None:
                return False
            self._down_since = self.clock()
            self._deferred_now = 0
            self.outages_total += 1
        self.log.warning(
            "%s unreachable (%s)%s", self.name, describe(error), f": {context}" if context else ""
        )
        return True

    def deferred(self, count: int = 1) -> None:
        """Count work put off because the dependency is down."""
        with self._lock:
            self._deferred_now += count
            self.deferred_total += count

    def recovered(self, started: float | None = None) -> bool:
        """Note a success; logs the "back" line if it was down. True if it was down.

        ``started`` (on ``clock``): when the work that succeeded began; work begun before the
        outage was noticed proves nothing (a statement that finished just before the cut)."""
        if self._down_since is None:  # the common case: no lock taken
            return False
        with self._lock:
            if self._down_since is None or (started is not None and started <= self._down_since):
                return False
            seconds = self.clock() - self._down_since
            deferred, self._down_since, self._deferred_now = self._deferred_now, None, 0
        self.log.warning(
            "%s back after %.1f s; %d %s meanwhile", self.name, seconds, deferred, self.deferred_what
        )
        return True

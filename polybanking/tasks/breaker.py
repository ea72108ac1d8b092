"""The web process's circuit breaker in front of the task queue.

Queueing a task after commit is only a shortcut: the database is the outbox and the worker's scan
delivers every IPN due whether or not its message was queued. So when the queue fails (Redis down,
or hanging), the web process stops trying for ``open_seconds``: requests answer at once and the
work is counted as deferred. After that, one request tries again (the others keep deferring until
it has answered); a success closes the breaker and logs how long the queue was away.
"""

import logging
import threading
import time
from collections.abc import Callable

from ..outages import Outage, describe

log = logging.getLogger(__name__)

DEFAULT_OPEN_SECONDS = 30.0


class QueueBreaker:
    """Closed (queueing), open (deferring everything), or letting one trial through."""

    def __init__(
        self, open_seconds: float = DEFAULT_OPEN_SECONDS, clock: Callable[[], float] = time.monotonic
    ):
        self.open_seconds = open_seconds
        self.clock = clock
        self.outage = Outage("task queue", "tasks left to the outbox scan", log, clock)
        self._lock = threading.Lock()
        self._retry_at = 0.0
        #: Enqueues that raised (each logged naming its transaction), over the process's life.
        self.failures_total = 0

    @property
    def open(self) -> bool:
        return self.outage.down

    def call(self, what: str, enqueue: Callable[[], object]) -> bool:
        """Run ``enqueue`` unless the breaker is open; True if it ran and succeeded. Never raises."""
        if self.outage.down:
            with self._lock:
                now = self.clock()
                trial = now >= self._retry_at
                if trial:
                    self._retry_at = now + self.open_seconds  # the others defer while it tries
            if not trial:
                self.outage.deferred()
                log.info("%s deferred to the outbox scan (task queue unreachable)", what)
                return False
        try:
            enqueue()
        except Exception as error:  # any client error: the outbox scan delivers anyway
            with self._lock:
                self.failures_total += 1
                self._retry_at = self.clock() + self.open_seconds
            context = f"{what} left to the outbox scan; queueing paused for {self.open_seconds:g} s"
            if not self.outage.failed(error, context):
                log.warning("%s not queued (%s); left to the outbox scan", what, describe(error))
            self.outage.deferred()
            return False
        self.outage.recovered()
        return True

"""The web process: waitress, as ``egg:waitress#main`` runs it, in an interpreter set for a server.

``[server:main] use = egg:polybanking#waitress`` (production.ini, development.ini) takes waitress's
own options, plus ``switch_interval_ms``. Process-wide settings live here, in the server, because the
app is also built by tests, the worker and the command line, where they have no business.
"""

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable

import waitress

#: bench/http_load.py on 2 cores, 50 clients: CPython's 5 ms leaves a thread back from the database
#: waiting for the GIL behind the others' work; 1 ms halves the bare view's p99 and lowers start's.
DEFAULT_SWITCH_INTERVAL_MS = 1.0


def switch_interval(value: str) -> float:
    """``switch_interval_ms`` read from the ini: milliseconds, more than 0 and at most 100."""
    try:
        milliseconds = float(value)
    except ValueError:
        raise ValueError(f"switch_interval_ms: {value!r} is not a number of milliseconds") from None
    if not 0 < milliseconds <= 100:
        raise ValueError(f"switch_interval_ms: must be more than 0 and at most 100, not {value}")
    return milliseconds


#: waitress warns "Task queue depth is N" on every request queued behind busy threads: under a rush,
#: thousands of lines a minute that drown everything else. One line per interval says the same.
QUEUE_WARNING_SECONDS = 60.0


class RateLimit(logging.Filter):
    """Lets one record through per ``seconds``; the next one says how many were held back."""

    def __init__(self, seconds: float = QUEUE_WARNING_SECONDS, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._next = float("-inf")
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            now = self.clock()
            if now < self._next:
                self._held += 1
                return False
            held, self._held, self._next = self._held, 0, now + self.seconds
        if held:
            record.msg = f"{record.msg} ({held} more such warnings in the last {self.seconds:g} s)"
        return True


def limit_queue_warnings(seconds: float = QUEUE_WARNING_SECONDS) -> RateLimit:
    """Rate-limit waitress's queue-depth warning (logger ``waitress.queue``) in this process."""
    queue_logger = logging.getLogger("waitress.queue")
    for old in [f for f in queue_logger.filters if isinstance(f, RateLimit)]:
        queue_logger.removeFilter(old)
    limit = RateLimit(seconds)
    queue_logger.addFilter(limit)
    return limit


def prepare_process(switch_interval_ms: float = DEFAULT_SWITCH_INTERVAL_MS) -> None:
    """Tune the interpreter for many short requests on a handful of threads.

    - The GIL switch interval (see ``DEFAULT_SWITCH_INTERVAL_MS``).
    - waitress's queue-depth warning, one line a minute at most (``RateLimit``).
    - ``gc.freeze()`` once the app is loaded: modules, mappers, routes and templates leave the cyclic
      collector's view, so a full collection under load walks only what requests made. Measured
      with bench/http_load.py: start's p99 on SQLite went from 142 ms to 78 ms.
    """
    sys.setswitchinterval(switch_interval_ms / 1000)
    limit_queue_warnings()
    gc.collect()
    gc.freeze()


def serve_paste(app, global_conf, switch_interval_ms: str = str(DEFAULT_SWITCH_INTERVAL_MS), **options):
    """PasteDeploy server runner (``egg:polybanking#waitress``): ``prepare_process``, then waitress."""
    prepare_process(switch_interval(switch_interval_ms))
    return waitress.serve_paste(app, global_conf, **options)

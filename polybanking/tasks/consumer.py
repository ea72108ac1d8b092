"""The Huey consumer of ``polybanking worker``, checking periodic tasks every ``ipn.scan_interval``.

Huey's scheduler looks for periodic tasks once a minute (a class attribute, not an option); the
outbox scan is the only periodic task, and its interval is a setting, so the consumer made here
sets that attribute on its scheduler. The scheduler also checks once at start-up, so a restarted
worker scans the outbox at once.

While the queue (Redis) is away, Huey's scheduler would log a traceback every second; here the
consumer's processes share one outage instead: one line when the queue goes, one when it is back.
"""

import logging
import sys
import time

from huey import Huey
from huey.consumer import Consumer, Scheduler, Worker

from ..outages import Outage

log = logging.getLogger(__name__)

#: Huey's own messages for a queue that cannot be read or written (huey/consumer.py).
QUEUE_ERRORS = frozenset(
    {
        "Error reading from queue",
        "Error reading schedule.",
        "Error enqueueing %s.",
        "Error enqueueing periodic task %s.",
    }
)


class _QueueLog:
    """A consumer process's logger: queue errors go to the outage, the rest passes through."""

    def __init__(self, logger: logging.Logger, process: "_Watched"):
        self._logger = logger
        self._process = process

    def exception(self, msg, *args, **kwargs) -> None:
        if msg in QUEUE_ERRORS:
            self._process.queue_failed = True
            error = sys.exc_info()[1] or RuntimeError(msg)
            if not self._process.outage.failed(error, "IPNs stay due in the outbox until it is back"):
                self._process.outage.deferred()
            return
        self._logger.exception(msg, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._logger, name)


class _Watched:
    outage: Outage
    queue_failed = False

    def watch(self, outage: Outage) -> None:
        self.outage = outage
        self._logger = _QueueLog(self._logger, self)


class WatchedWorker(_Watched, Worker):
    """Huey's blocking read hides a lost Redis (it returns nothing), so a worker's loop says
    nothing about recovery; errors it does log (non-blocking reads) join the outage."""


class WatchedScheduler(_Watched, Scheduler):
    """Reads the schedule every second: the one that notices the queue go and come back."""

    def loop(self, now=None):
        self.queue_failed = False
        skips = self._next_loop + self.interval < time.monotonic()  # Huey then touches no queue
        super().loop(now)
        if not skips and not self.queue_failed:
            self.outage.recovered()


class ScanningConsumer(Consumer):
    worker_class = WatchedWorker
    scheduler_class = WatchedScheduler

    def __init__(self, huey: Huey, *, periodic_seconds: int = 60, **options):
        self.periodic_seconds = periodic_seconds  # before Consumer.__init__, which builds the scheduler
        self.outage = Outage("task queue", "failed queue reads", log)
        super().__init__(huey, **options)

    def _create_worker(self):
        worker = super()._create_worker()
        worker.watch(self.outage)
        return worker

    def _create_scheduler(self):
        scheduler = super()._create_scheduler()
        scheduler.periodic_task_seconds = self.periodic_seconds
        scheduler.watch(self.outage)
        return scheduler


def build_consumer(huey: Huey, workers: int, scan_interval: int) -> Consumer:
    """Thread workers (the IPN posts wait on the network, not the CPU) with periodic tasks on."""
    return ScanningConsumer(
        huey, periodic_seconds=scan_interval, workers=workers, worker_type="thread", periodic=True
    )

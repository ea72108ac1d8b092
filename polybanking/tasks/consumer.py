"""The Huey consumer of ``polybanking worker``, checking periodic tasks every ``ipn.scan_interval``.

Huey's scheduler looks for periodic tasks once a minute (a class attribute, not an option); the
outbox scan is the only periodic task, and its interval is a setting, so the consumer made here
sets that attribute on its scheduler. The scheduler also checks once at start-up, so a restarted
worker scans the outbox at once.
"""

from huey import Huey
from huey.consumer import Consumer


class ScanningConsumer(Consumer):
    def __init__(self, huey: Huey, *, periodic_seconds: int = 60, **options):
        self.periodic_seconds = periodic_seconds  # before Consumer.__init__, which builds the scheduler
        super().__init__(huey, **options)

    def _create_scheduler(self):
        scheduler = super()._create_scheduler()
        scheduler.periodic_task_seconds = self.periodic_seconds
        return scheduler


def build_consumer(huey: Huey, workers: int, scan_interval: int) -> Consumer:
    """Thread workers (the IPN posts wait on the network, not the CPU) with periodic tasks on."""
    return ScanningConsumer(
        huey, periodic_seconds=scan_interval, workers=workers, worker_type="thread", periodic=True
    )

"""Delivering IPNs: claim (one short transaction), post (no transaction open), record (another).

The same steps serve one transaction (the ``send_ipn`` task, queued after a status change) and
the outbox scan (the periodic task). The scan takes due IPNs in batches, posts a batch's IPNs in
parallel threads, and overlaps the database work (recording one batch, claiming the next) with the
posts of the batch in flight. The clock and the random generator are injected so tests can walk
the retry schedule without sleeping.

One slow website cannot hold up the others: every post runs in the deliverer's pool, where one
website (scheme, host and port) gets at most three quarters of the threads (the IPNs over that
are released and tried again shortly), and ``deliver`` (a queue worker's thread) waits at most
``HANDOFF_SECONDS`` for a post; a slower one finishes in the pool, which records its result then.
"""

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from ...models.meta import utcnow
from . import outbox as ipn_outbox
from .outbox import Recorded
from .schedule import IpnPolicy
from .sender import AttemptResult, Delivery, Sender

log = logging.getLogger(__name__)

BATCH_SIZE = 100
#: A status that changes again and again while its IPN is in flight is sent again at most this
#: many times in one task; the outbox scan carries on after that.
MAX_ROUNDS = 5
#: How long ``deliver`` waits for a post before leaving it to the pool.
HANDOFF_SECONDS = 1.0

Clock = Callable[[], datetime]
Batch = tuple[list[Delivery], list[Future]]


@dataclass
class ScanSummary:
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    outcomes: list[Recorded] = field(default_factory=list)

    def add(self, outcomes: Iterable[Recorded]) -> None:
        for outcome in outcomes:
            self.outcomes.append(outcome)
            self.delivered += outcome.ok and not outcome.superseded
            self.failed_attempts += not outcome.ok and not outcome.released
            self.given_up += outcome.failed


class IpnDeliverer:
    """Delivers due IPNs; one per worker process, shared by its threads."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        policy: IpnPolicy,
        sender: Sender | None = None,
        clock: Clock = utcnow,
        rng: random.Random | None = None,
    ):
        self.session_factory = session_factory
        self.policy = policy
        self.sender = sender or Sender(policy.timeout, policy.allow_private)
        self.clock = clock
        self.rng = rng or random.Random()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        #: Expired claims of stopped workers this deliverer took over (logged each time).
        self.taken_over_total = 0
        #: Posts in flight per website; at most ``site_limit`` each, so a quarter of the threads
        #: (at least one) always remains for the other websites.
        self._in_flight: Counter[str] = Counter()
        self.site_limit = max(1, policy.concurrency - max(1, policy.concurrency // 4))

    def _claim(self, limit: int, transaction_ids=None) -> list[Delivery]:
        taken_over: list[int] = []
        with self.session_factory.begin() as dbsession:
            deliveries = ipn_outbox.claim(
                dbsession, self.clock(), self.policy.claim_lease, limit, transaction_ids, taken_over
            )
        if taken_over:
            self.taken_over_total += len(taken_over)
            log.warning(
                "took over %d IPN claim(s) left by a worker that stopped mid-delivery (transactions %s);"
                " sending again with the same webhook-id (%d taken over by this worker so far)",
                len(taken_over),
                ", ".join(map(str, taken_over[:20])) + (" …" if len(taken_over) > 20 else ""),
                self.taken_over_total,
            )
        return deliveries

    def _send(self, delivery: Delivery) -> AttemptResult | None:
        """Post, unless the claim might expire before the website could answer (a batch waiting
        behind a slow website): then None, and the IPN is released for the next round."""
        now = self.clock()
        if now + timedelta(seconds=self.policy.attempt_limit) > delivery.claimed_until:
            return None
        site = _site(delivery.url)
        with self._pool_lock:
            if self._in_flight[site] >= self.site_limit:
                return None  # this website has its share of the threads: released, tried again soon
            self._in_flight[site] += 1
        try:
            return self.sender.send(delivery, now)
        finally:
            with self._pool_lock:
                self._in_flight[site] -= 1
                if not self._in_flight[site]:
                    del self._in_flight[site]

    def _start(self, deliveries: list[Delivery]) -> Batch:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.policy.concurrency, thread_name_prefix="ipn")
            pool = self._pool
        return deliveries, [pool.submit(self._send, delivery) for delivery in deliveries]

    def _record(self, deliveries: list[Delivery], results: list[AttemptResult | None]) -> list[Recorded]:
        with self.session_factory.begin() as dbsession:
            attempts = list(zip(deliveries, results, strict=True))
            outcomes = ipn_outbox.record(dbsession, attempts, self.policy, self.clock(), self.rng)
        for delivery, result in zip(deliveries, results, strict=True):
            if result is not None and not result.ok:
                log.info(
                    "IPN for transaction %s failed: %s", delivery.transaction_id, result.describe()[:200]
                )
        return outcomes

    def _finish(self, batch: Batch) -> list[Recorded]:
        deliveries, futures = batch
        return self._record(deliveries, [future.result() for future in futures])

    def _finish_later(self, batch: Batch) -> None:
        """Record a slow post's result when it comes (in the pool's thread)."""
        try:
            self._finish(batch)
        except Exception:  # the scan will find the IPN due again once its claim expires
            log.exception("IPN result for transaction %s not recorded", batch[0][0].transaction_id)

    def deliver(self, transaction_id: int) -> list[Recorded]:
        """Send one transaction's IPN if it is due; again if its status changed in flight."""
        outcomes: list[Recorded] = []
        for _ in range(MAX_ROUNDS):
            deliveries = self._claim(1, [transaction_id])
            if not deliveries:
                break
            batch = self._start(deliveries)
            try:
                batch[1][0].result(timeout=HANDOFF_SECONDS)
            except FutureTimeout:
                # A slow website: the post goes on in the pool, which records it when it ends;
                # this (queue worker's) thread is free for the other websites' IPNs.
                batch[1][0].add_done_callback(lambda _done, batch=batch: self._finish_later(batch))
                break
            recorded = self._finish(batch)
            outcomes.extend(recorded)
            # Again if the status changed in flight; not if the website's share of threads is
            # taken (released): the caller schedules it a little later.
            if not any(outcome.superseded for outcome in recorded):
                break
        return outcomes

    def deliver_due(self, budget_seconds: float | None = None, batch_size: int = BATCH_SIZE) -> ScanSummary:
        """Batches of due IPNs until none is left (or the time budget is spent): while one batch
        is being posted, the previous one is recorded and the next one claimed."""
        summary = ScanSummary()
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        in_flight: Batch | None = None
        while True:
            in_time = deadline is None or time.monotonic() < deadline
            claimed = self._claim(batch_size) if in_time else []
            started = self._start(claimed) if claimed else None
            if in_flight is not None:
                recorded = self._finish(in_flight)
                summary.add(recorded)
                if any(outcome.released for outcome in recorded):
                    batch_size = max(self.policy.concurrency, batch_size // 2)  # a slow website
            if started is None and in_flight is None:
                return summary
            # Recording may have left IPNs due again (a status changed in flight): one more round.
            in_flight = started

    def upcoming(self, horizon_seconds: float) -> list[tuple[int, datetime]]:
        """What becomes due within the horizon (see outbox.upcoming)."""
        now = self.clock()
        with self.session_factory.begin() as dbsession:
            return ipn_outbox.upcoming(dbsession, now, now + timedelta(seconds=horizon_seconds))

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def _site(url: str) -> str:
    """Scheme, host and port: what one website's share of the posting threads is counted by."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"
    except ValueError:
        return url

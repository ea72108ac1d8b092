"""Delivering IPNs: claim (one short transaction), post (no transaction open), record (another).

The same steps serve one transaction (the ``send_ipn`` task, queued after a status change) and
the outbox scan (the periodic task). The scan claims due IPNs in batches and posts them in
parallel threads, recording results in groups as they come and claiming more while fewer than a
batch are waiting to be posted, so the database work overlaps the posts. The clock and the
random generator are injected so tests can walk the retry schedule without sleeping.

One slow website cannot hold up the others: every post runs in the deliverer's pool, where one
website (scheme, host and port) gets at most three quarters of the threads (its other IPNs wait
their turn in its own queue, and are released, unsent, if their claim grows too old to fit an
attempt); the scan never waits for a slow website's posts before going on with the others', and
``deliver`` (a queue worker's thread) waits at most ``HANDOFF_SECONDS`` for a post; a slower one
finishes in the pool, which records its result then.
"""

import logging
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from queue import Empty, SimpleQueue
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
#: A website with all its threads busy and no post ended for this long is slow: the IPNs waiting
#: in its queue do not count as the scan's work in hand, and the scan claims others meanwhile.
SLOW_SECONDS = 0.5
#: Results are recorded in groups of up to a batch; a group waits at most this long for more.
RECORD_WAIT_SECONDS = 0.02

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
        #: (at least one) always remains for the other websites. The others wait in ``_waiting``.
        self._in_flight: Counter[str] = Counter()
        self._waiting: dict[str, deque[tuple[Delivery, Future]]] = {}
        #: When each website's last post ended (or its first began): how slow it is.
        self._progress: dict[str, float] = {}
        #: The IPN URLs seen for each website with IPNs in flight or waiting.
        self._urls: dict[str, set[str]] = {}
        #: Transactions whose IPN this deliverer claimed and has not recorded yet. Never claimed
        #: again meanwhile: a post may end as its claim does, and its result is recorded a little
        #: later; claimed again in between, the IPN would be posted twice.
        self._unrecorded: Counter[int] = Counter()
        self.site_limit = max(1, policy.concurrency - max(1, policy.concurrency // 4))

    def _claim(self, limit: int, transaction_ids=None, skip_urls: Collection[str] = ()) -> list[Delivery]:
        taken_over: list[int] = []
        with self._pool_lock:
            unrecorded = set(self._unrecorded)
        with self.session_factory.begin() as dbsession:
            deliveries = ipn_outbox.claim(
                dbsession,
                self.clock(),
                self.policy.claim_lease,
                limit,
                transaction_ids,
                taken_over,
                skip_urls,
                unrecorded,
            )
        with self._pool_lock:
            self._unrecorded.update(delivery.transaction_id for delivery in deliveries)
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
        """Post, unless the claim might expire before the website could answer (an IPN that
        waited behind a slow website): then None, and the IPN is released for the next round."""
        now = self.clock()
        if now + timedelta(seconds=self.policy.attempt_limit) > delivery.claimed_until:
            return None
        return self.sender.send(delivery, now)

    def _start(self, deliveries: list[Delivery]) -> Batch:
        """Queue each delivery behind its website's and post what its website's share allows."""
        futures: list[Future] = []
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.policy.concurrency, thread_name_prefix="ipn")
            for delivery in deliveries:
                future: Future = Future()
                futures.append(future)
                site = _site(delivery.url)
                self._waiting.setdefault(site, deque()).append((delivery, future))
                self._urls.setdefault(site, set()).add(delivery.url)
            for site in {_site(delivery.url) for delivery in deliveries}:
                self._pump(site)
        return deliveries, futures

    def _pump(self, site: str) -> None:
        """Hand the pool this website's next IPNs while it has fewer than its share in flight
        (under ``_pool_lock``)."""
        waiting = self._waiting.get(site)
        while waiting and self._in_flight[site] < self.site_limit and self._pool is not None:
            delivery, future = waiting.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            if not self._in_flight[site]:
                self._progress[site] = time.monotonic()
            self._in_flight[site] += 1
            self._pool.submit(self._post, site, delivery, future)
        if not waiting:
            self._waiting.pop(site, None)

    def _post(self, site: str, delivery: Delivery, future: Future) -> None:
        try:
            result = self._send(delivery)
        except BaseException as error:  # the sender never raises; a bug must still end the wait
            outcome: tuple = (None, error)
        else:
            outcome = (result, None)
        with self._pool_lock:
            self._in_flight[site] -= 1
            self._progress[site] = time.monotonic()
            if not self._in_flight[site]:
                del self._in_flight[site]
                self._progress.pop(site, None)
            self._pump(site)
            if site not in self._in_flight and site not in self._waiting:
                self._urls.pop(site, None)
        if outcome[1] is not None:
            future.set_exception(outcome[1])
        else:
            future.set_result(outcome[0])

    def _slow_websites(self) -> tuple[int, set[str]]:
        """Websites whose every thread has been stuck for ``SLOW_SECONDS``: how many IPNs wait
        for them, and their IPN URLs (the scan claims none of theirs until they move again)."""
        now = time.monotonic()
        waiting, urls = 0, set()
        with self._pool_lock:
            for site, count in self._in_flight.items():
                if count >= self.site_limit and now - self._progress.get(site, now) > SLOW_SECONDS:
                    waiting += len(self._waiting.get(site, ()))
                    urls |= self._urls.get(site, set())
        return waiting, urls

    def _record(self, deliveries: list[Delivery], results: list[AttemptResult | None]) -> list[Recorded]:
        try:
            with self.session_factory.begin() as dbsession:
                attempts = list(zip(deliveries, results, strict=True))
                outcomes = ipn_outbox.record(dbsession, attempts, self.policy, self.clock(), self.rng)
        finally:  # recorded, or not (the database failed): either way others may claim them again
            with self._pool_lock:
                self._unrecorded.subtract(delivery.transaction_id for delivery in deliveries)
                self._unrecorded += Counter()  # drops the ones at zero
        for delivery, result in zip(deliveries, results, strict=True):
            if result is not None and not result.ok:
                log.info(
                    "IPN for transaction %s failed: %s", delivery.transaction_id, result.describe()[:200]
                )
        return outcomes

    def _finish(self, batch: Batch) -> list[Recorded]:
        deliveries, futures = batch
        return self._record(deliveries, [_result(future) for future in futures])

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
        """Claim due IPNs while fewer than a batch wait to be posted (those waiting behind a slow
        website do not count, and no more of its IPNs are claimed meanwhile), and record results
        in groups of at least half a batch as they come, until nothing is due or in flight (or
        the time budget is spent: then no more claims)."""
        summary = ScanSummary()
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        finished: SimpleQueue[tuple[Delivery, Future]] = SimpleQueue()
        outstanding = 0  # claimed by this scan, not recorded yet
        group = max(1, batch_size // 2)
        while True:
            claimed: list[Delivery] = []
            in_time = deadline is None or time.monotonic() < deadline
            behind_slow, slow_urls = self._slow_websites()
            if in_time and outstanding - finished.qsize() - behind_slow < batch_size:
                claimed = self._claim(batch_size, skip_urls=slow_urls)
                deliveries, futures = self._start(claimed)
                outstanding += len(claimed)
                for delivery, future in zip(deliveries, futures, strict=True):
                    future.add_done_callback(lambda done, delivery=delivery: finished.put((delivery, done)))
            if not claimed and not outstanding:
                return summary
            if claimed and finished.qsize() < group:
                continue  # record a group at a time: one transaction each
            done = _take(finished, 0 if claimed else min(group, outstanding), batch_size)
            if done:
                outstanding -= len(done)
                summary.add(self._record([d for d, _ in done], [_result(f) for _, f in done]))

    def upcoming(self, horizon_seconds: float) -> list[tuple[int, datetime]]:
        """What becomes due within the horizon (see outbox.upcoming)."""
        now = self.clock()
        with self.session_factory.begin() as dbsession:
            return ipn_outbox.upcoming(dbsession, now, now + timedelta(seconds=horizon_seconds))

    def close(self) -> None:
        """Stop posting: IPNs still waiting for a thread are released (None), those in flight end."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
            waiting = [item for queue in self._waiting.values() for item in queue]
            self._waiting.clear()
        for _delivery, future in waiting:
            if future.set_running_or_notify_cancel():
                future.set_result(None)
        if pool is not None:
            pool.shutdown(wait=True)


def _result(future: Future) -> AttemptResult | None:
    """A post's result; None (not sent: released) should the post have failed with a bug, so
    that the IPN is still recorded as free for the next round."""
    error = future.exception()
    if error is not None:
        log.error("IPN post failed unexpectedly", exc_info=error)
        return None
    return future.result()


def _take(finished: SimpleQueue, least: int, most: int) -> list:
    """Up to ``most`` results from ``finished``, waiting up to ``RECORD_WAIT_SECONDS`` for
    ``least`` (one transaction records a group), and never long: the scan may have to claim."""
    taken: list = []
    until = time.monotonic() + RECORD_WAIT_SECONDS
    try:
        while len(taken) < most:
            if len(taken) < least and (left := until - time.monotonic()) > 0:
                taken.append(finished.get(timeout=left))
            else:
                taken.append(finished.get_nowait())
    except Empty:
        pass
    return taken


def _site(url: str) -> str:
    """Scheme, host and port: what one website's share of the posting threads is counted by."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"
    except ValueError:
        return url

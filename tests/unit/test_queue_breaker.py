"""The web process's circuit breaker in front of the queue, walked with a hand-moved clock."""

import logging

import pytest
import transaction

from polybanking import main
from polybanking.settings import SettingsError
from polybanking.tasks.breaker import QueueBreaker
from polybanking.tasks.queue import enqueue_after_commit


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Queue:
    """A queue client that fails while ``down`` and records what it was given otherwise."""

    def __init__(self):
        self.down = False
        self.calls = 0
        self.queued: list[int] = []

    def task(self, transaction_id: int) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.queued.append(transaction_id)

    task.name = "send_ipn"  # type: ignore[attr-defined]


def messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_open_defer_trial_and_back(caplog):
    caplog.set_level(logging.INFO, logger="polybanking")
    clock, queue = Clock(), Queue()
    breaker = QueueBreaker(open_seconds=30, clock=clock)

    assert breaker.call("send_ipn for transaction 1", lambda: queue.task(1))
    assert not breaker.open and queue.queued == [1]

    queue.down = True
    assert not breaker.call("send_ipn for transaction 2", lambda: queue.task(2))
    assert breaker.open and queue.calls == 2
    clock.now += 10
    for n in (3, 4, 5):
        assert not breaker.call(f"send_ipn for transaction {n}", lambda n=n: queue.task(n))
    assert queue.calls == 2  # open: nobody tried
    clock.now += 21  # past open_seconds: one trial, which fails, and the wait starts again
    assert not breaker.call("send_ipn for transaction 6", lambda: queue.task(6))
    assert queue.calls == 3 and breaker.open
    assert not breaker.call("send_ipn for transaction 7", lambda: queue.task(7))
    assert queue.calls == 3

    queue.down = False
    clock.now += 31
    assert breaker.call("send_ipn for transaction 8", lambda: queue.task(8))
    assert not breaker.open and queue.queued == [1, 8]
    assert breaker.call("send_ipn for transaction 9", lambda: queue.task(9))

    lines = messages(caplog)
    (down,) = [m for m in lines if m.startswith("task queue unreachable")]
    assert "ConnectionError" in down and "transaction 2" in down and "30 s" in down
    assert "send_ipn for transaction 6 not queued (ConnectionError: Error 111" in " ".join(lines)
    for n in (3, 4, 5, 7):
        assert f"send_ipn for transaction {n} deferred to the outbox scan (task queue unreachable)" in lines
    (back,) = [m for m in lines if m.startswith("task queue back")]
    assert back == "task queue back after 62.0 s; 6 tasks left to the outbox scan meanwhile"
    assert breaker.outage.deferred_total == 6 and breaker.failures_total == 2


def test_one_trial_at_a_time_while_open():
    """Past the wait, the first caller tries; the others defer until it has answered."""
    clock = Clock()
    breaker = QueueBreaker(open_seconds=5, clock=clock)
    breaker.call("a", lambda: 1 / 0)
    clock.now += 6
    tried = []

    def trial():
        tried.append("trial")
        assert not breaker.call("during the trial", lambda: tried.append("second"))  # deferred
        raise TimeoutError("Timeout reading from socket")

    assert not breaker.call("b", trial)
    assert tried == ["trial"]


def test_enqueue_after_commit_never_fails_the_commit(caplog):
    caplog.set_level(logging.INFO, logger="polybanking")
    queue, breaker = Queue(), QueueBreaker(clock=Clock())
    queue.down = True
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        enqueue_after_commit(manager, queue.task, 42, breaker=breaker)
        enqueue_after_commit(manager, queue.task, 43)  # the command line's way: no breaker
    assert queue.calls == 2
    lines = messages(caplog)
    assert any("send_ipn for transaction 42" in m for m in lines)
    assert "send_ipn for transaction 43 not queued (ConnectionError: Error 111 connecting to " in " ".join(
        lines
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_rolled_back_queues_nothing():
    queue = Queue()
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    enqueue_after_commit(manager, queue.task, 42, breaker=QueueBreaker())
    manager.abort()
    assert queue.calls == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [("huey.enqueue_timeout_ms", "0"), ("huey.enqueue_timeout_ms", "fast"), ("huey.breaker_seconds", "-1")],
)
def test_bad_settings_stop_start_up_naming_the_key(app_settings, key, value):
    with pytest.raises(SettingsError, match=key):
        main({}, **{**app_settings, key: value})


def test_settings_may_come_from_the_environment(app_settings, monkeypatch):
    monkeypatch.setenv("POLYBANKING_HUEY_BREAKER_SECONDS", "12.5")
    monkeypatch.setenv("POLYBANKING_HUEY_ENQUEUE_TIMEOUT_MS", "80")
    application = main({}, **app_settings)
    try:
        assert application.registry.queue_breaker.open_seconds == 12.5
    finally:
        application.registry["dbengine"].dispose()
    monkeypatch.setenv("POLYBANKING_HUEY_ENQUEUE_TIMEOUT_MS", "slow")
    with pytest.raises(SettingsError, match="huey.enqueue_timeout_ms"):
        main({}, **app_settings)

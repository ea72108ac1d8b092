"""Sign-in throttling: free tries, then waits that double, per username and per address."""

from datetime import UTC, datetime, timedelta

from polybanking.auth import throttle

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def fail(dbsession, username, ip, times, at=NOW):
    for _ in range(times):
        throttle.record_failure(dbsession, username, ip, now=at)
    dbsession.flush()


def test_a_few_failures_cost_nothing(dbsession):
    fail(dbsession, "alice", "10.0.0.1", 4)
    assert throttle.check(dbsession, "alice", "10.0.0.1", now=NOW).allowed


def test_then_the_wait_doubles(dbsession):
    fail(dbsession, "alice", "10.0.0.1", 5)
    verdict = throttle.check(dbsession, "Alice ", "10.0.0.2", now=NOW)  # same name, whatever the case
    assert not verdict.allowed and verdict.retry_after == 2
    assert throttle.check(
        dbsession, "alice", "10.0.0.2", now=NOW + timedelta(seconds=1, milliseconds=1)
    ).allowed
    fail(dbsession, "alice", "10.0.0.1", 3)
    assert not throttle.check(dbsession, "alice", "", now=NOW + timedelta(seconds=7)).allowed
    assert throttle.check(dbsession, "alice", "", now=NOW + timedelta(seconds=9)).allowed
    assert throttle.check(dbsession, "bob", "10.0.0.2", now=NOW).allowed


def test_the_window_forgets_old_failures(dbsession):
    fail(dbsession, "alice", "10.0.0.1", 30, at=NOW - throttle.WINDOW - timedelta(seconds=1))
    assert throttle.check(dbsession, "alice", "10.0.0.1", now=NOW).allowed


def test_the_wait_is_capped(dbsession):
    fail(dbsession, "alice", "", 60)
    assert (
        throttle.check(dbsession, "alice", "", now=NOW).retry_after <= throttle.MAX_DELAY.total_seconds() + 1
    )


def test_success_forgets_the_usernames_failures(dbsession):
    fail(dbsession, "alice", "10.0.0.1", 6)
    throttle.record_success(dbsession, "alice", now=NOW)
    assert throttle.check(dbsession, "alice", "10.0.0.1", now=NOW).allowed

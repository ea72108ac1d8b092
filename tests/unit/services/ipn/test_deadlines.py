"""The sender's watchdog (issue 18): one thread ends every attempt at its deadline, and arming
or disarming an attempt starts no thread."""

import threading

from polybanking.services.ipn.deadlines import Watchdog


def test_an_armed_deadline_cuts_and_a_disarmed_one_does_not():
    watchdog = Watchdog()
    cut, kept = threading.Event(), threading.Event()
    watchdog.arm(0.3, kept.set).disarm()
    watchdog.arm(0.05, cut.set)
    assert cut.wait(10)
    later = threading.Event()
    watchdog.arm(0.4, later.set)  # the disarmed one's deadline has passed by then
    assert later.wait(10)
    assert not kept.is_set()


def test_a_nearer_deadline_armed_later_is_not_kept_waiting():
    """The watchdog sleeps until its nearest deadline; a nearer one armed meanwhile wakes it."""
    watchdog = Watchdog()
    far, near = threading.Event(), threading.Event()
    watchdog.arm(3600, far.set)
    watchdog.arm(0.05, near.set)
    assert near.wait(10)
    assert not far.is_set()


def test_many_attempts_share_one_thread():
    watchdog = Watchdog(name="test-deadlines")
    before = threading.active_count()
    for _ in range(200):
        watchdog.arm(60, lambda: None).disarm()
    assert threading.active_count() == before + 1
    assert [t.name for t in threading.enumerate()].count("test-deadlines") == 1

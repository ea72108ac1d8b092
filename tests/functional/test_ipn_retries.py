"""Retries as scheduled (issue 4), against a real local receiver, with a fake clock: nothing sleeps
through the schedule; only the HTTP is real."""

import random
from datetime import timedelta

import pytest

from polybanking.services.ipn.delivery import IpnDeliverer
from polybanking.services.ipn.schedule import IpnPolicy, load_policy

from ..outbox import FakeClock, add_due, attempts_of, closed_port_url, ipn_logs, outbox_state

SECOND = timedelta(seconds=1)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def deliverer_for(db, clock):
    """``deliverer_for(policy)``: a deliverer on the committed database, on the fake clock."""
    made = []

    def make(policy: IpnPolicy) -> IpnDeliverer:
        deliverer = IpnDeliverer(db.factory, policy, clock=clock, rng=random.Random(7))
        made.append(deliverer)
        return deliverer

    yield make
    for deliverer in made:
        deliverer.close()


def walk(deliverer, clock, db, transaction_id, max_rounds=20):
    """Run the outbox scan at each due time until the IPN is delivered or given up; asserts that
    the scan sends nothing a second before each due time."""
    for _ in range(max_rounds):
        state = outbox_state(db, transaction_id)
        if not state.needed or state.failed:
            return state
        if state.next_at > clock.now:
            clock.to(state.next_at - SECOND)
            before = len(attempts_of(db, transaction_id))
            assert deliverer.deliver_due().outcomes == []
            assert len(attempts_of(db, transaction_id)) == before
            clock.to(state.next_at)
        deliverer.deliver_due()
    raise AssertionError("neither delivered nor given up")


def gaps(attempts) -> list[timedelta]:
    times = [attempt.attempted_at for attempt in attempts]
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


def test_500_three_times_then_200_is_delivered_on_the_fourth_attempt(
    make_config, receiver, db, clock, deliverer_for
):
    receiver.statuses = [500, 500, 500, 200]
    config = make_config()
    transaction_id = add_due(db, config)
    deliverer = deliverer_for(IpnPolicy(allow_private=True, jitter=0))

    state = walk(deliverer, clock, db, transaction_id)

    assert len(receiver.received) == 4
    assert state.needed is False and state.failed is False and state.next_at is None
    attempts = attempts_of(db, transaction_id)
    assert [a.http_status for a in attempts] == [500, 500, 500, 200]
    assert [a.success for a in attempts] == [False, False, False, True]
    assert gaps(attempts) == [5 * SECOND, 5 * 60 * SECOND, 30 * 60 * SECOND]
    assert [kind for kind, _ in ipn_logs(db, transaction_id)] == ["ipnfailled"] * 3 + ["ipnsuccess"]
    assert state.last_ipn_date == attempts[-1].attempted_at


def _refused(receiver, make_config):
    return make_config(url_ipn=closed_port_url())


def _timeout(receiver, make_config):
    receiver.delays = [3.0]  # well past ipn.timeout below
    return make_config()


def _answer(status):
    def prepare(receiver, make_config):
        receiver.statuses = [status]
        return make_config()

    return prepare


FAILURES = {
    "refused": (_refused, None, "could not connect"),
    "timeout": (_timeout, None, "no answer within 0.3 s"),
    "301": (_answer(301), 301, ""),
    "404": (_answer(404), 404, ""),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_failures_are_retried_as_scheduled_then_marked_failed(
    case, make_config, receiver, db, clock, deliverer_for
):
    prepare, http_status, error = FAILURES[case]
    config = prepare(receiver, make_config)
    transaction_id = add_due(db, config)
    policy = load_policy(
        {"ipn.retry_schedule": "5s 5m 30m", "ipn.timeout": "0.3", "ipn.allow_private_destinations": "true"}
    )
    deliverer = deliverer_for(policy)

    state = walk(deliverer, clock, db, transaction_id)

    attempts = attempts_of(db, transaction_id)
    assert len(attempts) == 4  # the first try and one per step
    for attempt in attempts:
        assert attempt.success is False and attempt.http_status == http_status
        assert attempt.error.startswith(error)
    # Each gap is its step of the schedule, moved by at most the 10 % jitter.
    for gap, step in zip(gaps(attempts), policy.schedule, strict=True):
        assert step * 0.9 <= gap <= step * 1.1
    assert state.failed is True and state.needed is True and state.next_at is None
    assert [kind for kind, _ in ipn_logs(db, transaction_id)] == ["ipnfailled"] * 4
    assert state.last_ipn_date is None  # the last *successful* IPN (PROTOCOL §7): there is none

    # Given up: no scan, however late, sends it again.
    clock.advance(timedelta(days=30))
    assert deliverer.deliver_due().outcomes == []
    assert len(attempts_of(db, transaction_id)) == 4


def test_default_schedule_spans_about_three_days(make_config, receiver, db, clock, deliverer_for):
    receiver.statuses = [404]
    transaction_id = add_due(db, make_config())
    deliverer = deliverer_for(IpnPolicy(allow_private=True))

    walk(deliverer, clock, db, transaction_id)

    attempts = attempts_of(db, transaction_id)
    assert len(attempts) == 11
    total = attempts[-1].attempted_at - attempts[0].attempted_at
    assert timedelta(days=3) < total < timedelta(days=3, hours=12)


def test_retry_after_is_honoured_within_the_schedules_bounds(make_config, receiver, db, clock, deliverer_for):
    receiver.statuses = [503, 503, 503, 200]
    receiver.retry_after = ["600", "1", "Fri, 04 Dec 2026 10:00:00 GMT", None]
    transaction_id = add_due(db, make_config())
    deliverer = deliverer_for(
        IpnPolicy(allow_private=True, schedule=(5 * SECOND, 300 * SECOND, 7200 * SECOND), jitter=0)
    )

    walk(deliverer, clock, db, transaction_id)

    attempts = attempts_of(db, transaction_id)
    assert [a.http_status for a in attempts] == [503, 503, 503, 200]
    # 600 s asked: waited 600 s (not 5); 1 s asked: the schedule's 5 min (never sooner); a week
    # asked: the schedule's longest step, 2 h.
    assert gaps(attempts) == [600 * SECOND, 300 * SECOND, 7200 * SECOND]


def test_an_attempt_records_time_status_duration_and_the_answers_start(
    make_config, receiver, db, clock, deliverer_for
):
    answer = ("é" * 999 + "\x00" + "x" * 3000).encode("utf-8")
    receiver.statuses = [502]
    receiver.bodies = [answer]
    receiver.delays = [0.2]
    transaction_id = add_due(db, make_config())

    deliverer_for(IpnPolicy(allow_private=True)).deliver(transaction_id)

    (attempt,) = attempts_of(db, transaction_id)
    assert attempt.attempted_at == clock.now
    assert attempt.http_status == 502 and attempt.error == "" and attempt.success is False
    assert 200 <= attempt.duration_ms < 2000
    assert attempt.answer == "é" * 999 + " "  # the first 1 000 characters, printable: no NUL stored
    assert attempt.postfinance_status == "9"
    ((kind, text),) = ipn_logs(db, transaction_id)
    assert kind == "ipnfailled"
    quoted = "é" * 119 + "…"  # the words quote the answer's start; the table keeps 1 000 characters
    assert text == f'status 9: answered HTTP 502 with "{quoted}" ({attempt.duration_ms} ms)'


def test_an_error_attempt_is_logged_without_telling_closed_from_filtered(make_config, db, deliverer_for):
    transaction_id = add_due(db, make_config(url_ipn=closed_port_url()))
    deliverer_for(IpnPolicy(allow_private=True)).deliver(transaction_id)
    (attempt,) = attempts_of(db, transaction_id)
    assert attempt.http_status is None and attempt.answer == ""
    ((kind, text),) = ipn_logs(db, transaction_id)
    assert kind == "ipnfailled"
    assert attempt.error == "could not connect" and text == "status 9: could not connect"


def test_a_config_without_ipn_url_fails_like_any_other_attempt(make_config, db, deliverer_for, clock):
    transaction_id = add_due(db, make_config(url_ipn=""))
    deliverer_for(IpnPolicy(allow_private=True, jitter=0)).deliver(transaction_id)
    (attempt,) = attempts_of(db, transaction_id)
    assert attempt.error == "no IPN URL configured"
    assert outbox_state(db, transaction_id).next_at == clock.now + 5 * SECOND

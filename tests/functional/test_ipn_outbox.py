"""The outbox's guarantees (issue 4): the state at send time, the last IPN carries the final status,
one sender per transaction at a time (atomic claim; on PostgreSQL too), crashed claims expire,
operators' resend, and the Standard Webhooks headers a website checks."""

import logging
import random
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from polybanking_client import PolyBanking
from sqlalchemy import select

from polybanking.models import Transaction
from polybanking.models.meta import utcnow
from polybanking.services.ipn import outbox as ipn_outbox
from polybanking.services.ipn.delivery import IpnDeliverer
from polybanking.services.ipn.payload import request_resend
from polybanking.services.ipn.schedule import IpnPolicy
from polybanking.services.ipn.sender import AttemptResult, Sender

from ..outbox import FakeClock, add_due, attempts_of, ipn_logs, outbox_state, set_status
from ..website import check_ipn_headers, postfinance_sha, start_params

SECOND = timedelta(seconds=1)
POLICY = IpnPolicy(allow_private=True, jitter=0, timeout=5)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def deliverer(db, clock):
    deliverer = IpnDeliverer(db.factory, POLICY, clock=clock, rng=random.Random(1))
    yield deliverer
    deliverer.close()


def in_thread(function, *args) -> threading.Thread:
    thread = threading.Thread(target=function, args=args, daemon=True)
    thread.start()
    return thread


def test_what_is_sent_is_the_state_at_send_time(make_config, receiver, db, clock, deliverer):
    transaction_id = add_due(db, make_config(), status="5")
    set_status(db, transaction_id, "9", clock.now)  # before any worker got to the first IPN
    deliverer.deliver(transaction_id)
    deliverer.deliver(transaction_id)  # the second change's message: nothing left to send
    assert [ipn["postfinance_status"] for ipn in receiver.received] == ["9"]
    assert outbox_state(db, transaction_id).needed is False


def test_a_status_change_while_in_flight_is_sent_next(make_config, receiver, db, clock, deliverer):
    receiver.delays = [receiver.HOLD, 0]
    transaction_id = add_due(db, make_config(), status="5")
    first = in_thread(deliverer.deliver, transaction_id)
    receiver.wait_for(1)
    set_status(db, transaction_id, "9", clock.now)
    # The new status's own message finds the IPN claimed: it does not send alongside.
    assert deliverer.deliver(transaction_id) == []
    receiver.release()
    first.join(timeout=10)
    assert [ipn["postfinance_status"] for ipn in receiver.received] == ["5", "9"]
    state = outbox_state(db, transaction_id)
    assert state.needed is False and state.attempts == 1  # the schedule restarted for status 9
    assert [a.postfinance_status for a in attempts_of(db, transaction_id)] == ["5", "9"]


def postsale(settings, transaction_id, status):
    params = {
        "orderID": f"polybanking-{transaction_id}",
        "amount": "5.5",
        "currency": "CHF",
        "STATUS": status,
        "PAYID": "3000000042",
        "PAYIDSUB": "0",
        "NCERROR": "0",
    }
    params["SHASIGN"] = postfinance_sha(params, settings.test.sha_out)
    return params


def test_two_status_changes_in_quick_succession_end_with_the_final_one(
    testapp, live_server, settings, make_config, receiver, db
):
    """Over HTTP, with real signatures: the IPN of 5 is still at the website when 9 arrives."""
    config = make_config()
    testapp.post("/paiements/start/", start_params(config, "550", "quick-1"))
    transaction_id = db.run(lambda s: s.scalar(select(Transaction.id)))
    receiver.delays = [receiver.HOLD, 0]
    url = f"{live_server.url}/paiements/ipn"
    first = in_thread(requests.post, url, postsale(settings, transaction_id, "5"))
    receiver.wait_for(1)
    assert requests.post(url, postsale(settings, transaction_id, "9"), timeout=30).status_code == 200
    receiver.release()
    first.join(timeout=30)
    assert receiver.wait_for(2)[-1]["postfinance_status"] == "9"
    assert [ipn["postfinance_status"] for ipn in receiver.received] == ["5", "9"]
    assert outbox_state(db, transaction_id).needed is False


def test_an_ipn_due_without_a_time_is_due_now(make_config, receiver, db, deliverer):
    """Rows owed an IPN from before the outbox had times (e.g. imported) are not forgotten."""
    transaction_id = add_due(db, make_config())
    db.run(lambda s: setattr(s.get(Transaction, transaction_id), "ipn_next_attempt_at", None))
    assert [outcome.ok for outcome in deliverer.deliver_due().outcomes] == [True]
    assert len(receiver.received) == 1


def test_a_claim_is_atomic_and_a_second_claim_for_the_same_transaction_finds_it_taken(make_config, db, clock):
    transaction_id = add_due(db, make_config())
    lease = POLICY.claim_lease
    second: list = []

    def claim_too():
        with db.factory.begin() as session:
            second.append(ipn_outbox.claim(session, clock.now, lease, 10, [transaction_id]))

    with db.factory.begin() as session:
        assert len(ipn_outbox.claim(session, clock.now, lease, 10, [transaction_id])) == 1
        other = in_thread(claim_too)
        other.join(timeout=0.5)
        assert other.is_alive(), "the second claim waits for the first one's commit (row or SQLite lock)"
    other.join(timeout=30)
    assert second == [[]]


def test_on_postgresql_a_scan_skips_a_locked_row(make_config, db, engine, clock):
    """Concurrent workers' scans take disjoint batches instead of queueing behind each other."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    transaction_id = add_due(db, make_config())
    with db.factory.begin() as holder:
        holder.scalar(select(Transaction.id).where(Transaction.id == transaction_id).with_for_update())
        scanned: list = []
        scan = in_thread(lambda: scanned.append(claim_due(db, clock)))
        scan.join(timeout=10)
        assert not scan.is_alive() and scanned == [[]]


def test_send_ipn_waits_for_a_duplicate_feedback_holding_the_row_then_delivers(
    make_config, receiver, db, clock, deliverer
):
    """A duplicate feedback locks the row, changes nothing and queues nothing: the send_ipn queued
    by the first one must not skip the row, or the IPN would wait for the next scan."""
    transaction_id = add_due(db, make_config())
    outcomes: list = []
    with db.factory.begin() as feedback:
        feedback.scalar(select(Transaction).where(Transaction.id == transaction_id).with_for_update())
        send = in_thread(lambda: outcomes.extend(deliverer.deliver(transaction_id)))
        send.join(timeout=0.5)
        assert send.is_alive(), "send_ipn waits for the feedback's commit"
    send.join(timeout=30)
    assert [outcome.ok for outcome in outcomes] == [True]
    assert len(receiver.received) == 1
    assert not outbox_state(db, transaction_id).needed


def claim_due(db, clock):
    with db.factory.begin() as session:
        return ipn_outbox.claim(session, clock.now, POLICY.claim_lease, 10)


def test_concurrent_workers_never_send_one_transaction_twice_at_once(make_config, receiver, db, clock):
    receiver.delays = [0.02]
    config = make_config()
    ids = [add_due(db, config, reference=f"ref-{n}") for n in range(40)]
    workers = [
        IpnDeliverer(db.factory, IpnPolicy(allow_private=True, concurrency=4), clock=clock) for _ in range(3)
    ]
    barrier = threading.Barrier(len(workers) * 2)

    def scan(worker):
        barrier.wait()
        worker.deliver_due(batch_size=5)

    def one_by_one(worker):
        barrier.wait()
        for transaction_id in ids:
            worker.deliver(transaction_id)

    threads = [in_thread(scan, w) for w in workers] + [in_thread(one_by_one, w) for w in workers]
    for thread in threads:
        thread.join(timeout=60)
    for worker in workers:
        worker.close()
    assert sorted(ipn["reference"] for ipn in receiver.received) == sorted(f"ref-{n}" for n in range(40))
    assert set(receiver.max_in_flight.values()) == {1}
    assert all(not outbox_state(db, tid).needed for tid in ids)


def test_a_crashed_workers_claim_expires(make_config, receiver, db, clock, deliverer):
    transaction_id = add_due(db, make_config())
    with db.factory.begin() as session:  # a worker claims, then dies before sending
        assert ipn_outbox.claim(session, clock.now, POLICY.claim_lease, 10)
    clock.advance(POLICY.claim_lease - SECOND)
    assert deliverer.deliver_due().outcomes == []
    clock.advance(SECOND)
    assert [o.ok for o in deliverer.deliver_due().outcomes] == [True]
    assert len(receiver.received) == 1 and outbox_state(db, transaction_id).needed is False


def test_the_claim_of_a_stopped_worker_is_noticed_logged_and_counted(
    make_config, receiver, db, clock, deliverer, caplog
):
    """The other workers notice a dead one by its expired claims: one warning naming them, a line in
    each transaction's story, a count; an IPN released normally is not mistaken for one."""
    config = make_config()
    dead = [add_due(db, config, reference=f"dead-{n}") for n in range(2)]
    with db.factory.begin() as session:  # a worker claims both, then dies before sending
        assert len(ipn_outbox.claim(session, clock.now, POLICY.claim_lease, 10)) == 2
    alive = add_due(db, config, reference="alive", now=clock.now)
    clock.advance(POLICY.claim_lease)
    caplog.set_level(logging.INFO, logger="polybanking")
    assert [o.ok for o in deliverer.deliver_due().outcomes] == [True, True, True]
    (line,) = [r.getMessage() for r in caplog.records if "took over" in r.getMessage()]
    assert line.startswith("took over 2 IPN claim(s) left by a worker that stopped mid-delivery")
    assert f"(transactions {dead[0]}, {dead[1]})" in line
    assert deliverer.taken_over_total == 2
    for transaction_id in dead:
        assert [t for t, _ in ipn_logs(db, transaction_id)].count("ipnClaimExpired") == 1
    assert "ipnClaimExpired" not in [t for t, _ in ipn_logs(db, alive)]


def test_a_batch_behind_a_slow_website_never_posts_on_an_expiring_claim(make_config, receiver, db, clock):
    """Each post 'takes' 3 s of the fake clock: IPNs whose claim is too old to fit an attempt are
    released and claimed afresh, so a claim never expires while its IPN is being posted."""
    policy = IpnPolicy(
        allow_private=True, timeout=1, concurrency=1
    )  # a lease of 8 s; an attempt may take 2 s
    posts: list[tuple] = []

    class SlowWebsite(Sender):
        def send(self, delivery, now):
            posts.append((delivery.transaction_id, now, delivery.claimed_until))
            clock.advance(3 * SECOND)
            return super().send(delivery, now)

    config = make_config()
    ids = [add_due(db, config, reference=f"slow-{n}") for n in range(6)]
    deliverer = IpnDeliverer(
        db.factory, policy, sender=SlowWebsite(policy.timeout, allow_private=True), clock=clock
    )
    summary = deliverer.deliver_due(batch_size=6)
    deliverer.close()

    assert sorted(tid for tid, _now, _until in posts) == ids  # each posted once
    assert all(now + timedelta(seconds=policy.attempt_limit) <= until for _tid, now, until in posts)
    assert any(outcome.released for outcome in summary.outcomes)  # some had to wait for a new claim
    assert summary.delivered == 6 and len(receiver.received) == 6
    assert all(len(attempts_of(db, tid)) == 1 for tid in ids)  # a release is not an attempt


def test_a_late_result_after_takeover_does_not_undo_the_delivery(make_config, receiver, db, clock, deliverer):
    transaction_id = add_due(db, make_config())
    with db.factory.begin() as session:
        (stalled,) = ipn_outbox.claim(session, clock.now, POLICY.claim_lease, 10)
    clock.advance(POLICY.claim_lease)
    deliverer.deliver(transaction_id)  # another worker takes over and delivers
    with db.factory.begin() as session:  # the stalled worker's answer finally comes: a 500
        late = AttemptResult(clock.now, 30000, http_status=500)
        ipn_outbox.record(session, [(stalled, late)], POLICY, clock.now)
    state = outbox_state(db, transaction_id)
    assert state.needed is False and state.failed is False and not state.claimed
    assert [a.http_status for a in attempts_of(db, transaction_id)] == [200, 500]  # both facts kept


def test_resend_makes_a_failed_ipn_due_again_and_logs_who_asked(make_config, receiver, db, clock):
    receiver.statuses = [404, 404, 200]
    transaction_id = add_due(db, make_config())
    deliverer = IpnDeliverer(
        db.factory, IpnPolicy(allow_private=True, schedule=(5 * SECOND,), jitter=0), clock=clock
    )
    deliverer.deliver(transaction_id)
    clock.advance(5 * SECOND)
    deliverer.deliver_due()
    assert outbox_state(db, transaction_id).failed is True

    clock.advance(timedelta(days=2))
    db.run(
        lambda s: request_resend(
            s, s.get(Transaction, transaction_id), by="alice", why="shop fixed", now=clock.now
        )
    )
    state = outbox_state(db, transaction_id)
    assert (state.needed, state.failed, state.attempts) == (True, False, 0)
    assert state.next_at == clock.now  # due now, on the deliverer's clock
    assert ipn_logs(db, transaction_id)[-1] == ("ipnResend", "resend requested by alice: shop fixed")
    deliverer.deliver_due()  # the scan, at the same instant, finds it due
    assert outbox_state(db, transaction_id).needed is False
    assert len(receiver.received) == 3


def test_standard_webhooks_headers(make_config, receiver, db, clock, deliverer):
    receiver.statuses = [500, 200]
    config = make_config()
    transaction_id = add_due(db, config, status="5")
    deliverer.deliver(transaction_id)
    clock.advance(5 * SECOND)
    deliverer.deliver_due()
    set_status(db, transaction_id, "9", clock.now)
    deliverer.deliver(transaction_id)

    headers, bodies = receiver.headers, receiver.raw_bodies
    assert len(bodies) == 3
    for number, (header, body) in enumerate(zip(headers, bodies, strict=True)):
        sent_at = int(clock.now.timestamp()) - (5 if number == 0 else 0)
        assert int(header["webhook-timestamp"]) == sent_at
        assert header["Content-Type"] == "application/x-www-form-urlencoded"
        assert check_ipn_headers(config.key_ipn, header, body, now=sent_at)
        assert not check_ipn_headers(config.key_ipn, header, body + b"&x=1", now=sent_at)
        assert not check_ipn_headers("another key", header, body, now=sent_at)
        assert not check_ipn_headers(config.key_ipn, header, body, now=sent_at + 301)  # a replay
        # The client library's check agrees with the specification's.
        website = PolyBanking(
            "http://127.0.0.1:9", config.id, config.key_request, config.key_ipn, config.key_api
        )
        assert website.check_ipn_headers(header, body, now=sent_at)
        assert not website.check_ipn_headers(header, body + b"&x=1", now=sent_at)
    ids = [header["webhook-id"] for header in headers]
    assert ids[0] == ids[1] != ids[2]  # one id per message, kept across its retries
    assert all(i.startswith("msg_") for i in ids)
    assert [a.webhook_id for a in attempts_of(db, transaction_id)] == ids


def test_the_readmes_recipe_accepts_a_real_ipn_and_refuses_a_tampered_one(make_config, receiver, db):
    """The verification code a website copies from docs/websites.md, run against what the gateway sends."""
    readme = (Path(__file__).resolve().parents[2] / "docs" / "websites.md").read_text()
    (code,) = re.findall(r"```python\n(import base64.*?def check_ipn_headers.*?)```", readme, re.S)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 (our own README)
    config = make_config()
    transaction_id = add_due(db, config, now=utcnow())
    deliverer = IpnDeliverer(db.factory, POLICY)  # the real clock: the recipe checks the time
    deliverer.deliver(transaction_id)
    deliverer.close()
    (headers,), (body,) = receiver.headers, receiver.raw_bodies
    check = namespace["check_ipn_headers"]
    assert check(config.key_ipn, headers, body) is True
    assert check(config.key_ipn, headers, body.replace(b"status=9", b"status=5")) is False
    assert check(config.key_ipn, {**headers, "webhook-timestamp": "1"}, body) is False


def test_a_busy_website_waits_for_its_threads_instead_of_being_released(make_config, receiver, db, clock):
    """Issue 18: one website with all its share of the threads busy: its next IPNs wait for a
    thread (no release, no second claim), and each is posted once."""
    policy = IpnPolicy(allow_private=True, jitter=0, concurrency=2)
    ids = [add_due(db, make_config(), reference=f"busy-{n}") for n in range(12)]
    deliverer = IpnDeliverer(db.factory, policy, clock=clock)
    summary = deliverer.deliver_due(batch_size=6)
    deliverer.close()
    assert not any(outcome.released for outcome in summary.outcomes)
    assert summary.delivered == 12 and len(receiver.received) == 12
    assert all(len(attempts_of(db, tid)) == 1 for tid in ids)

"""Hostile websites (issue 16): IPN URLs aimed at the gateway's own network, and endpoints that
answer one byte at a time. Loopback is a private address, so with the allowance off a local
receiver that gets nothing is the proof that nothing was sent."""

import random
import socket
import threading
import time
from datetime import timedelta

import pytest

from polybanking.services.ipn.delivery import IpnDeliverer
from polybanking.services.ipn.schedule import IpnPolicy
from polybanking.services.ipn.sender import Sender

from ..outbox import FakeClock, add_due, attempts_of, closed_port_url, ipn_logs, outbox_state

GUARDED = IpnPolicy(jitter=0, timeout=5)  # ipn.allow_private_destinations off, as in production


class Dripper:
    """A website that accepts the IPN, then answers one byte every ``interval`` seconds."""

    def __init__(self, interval: float = 0.2, answer: bytes = b"HTTP/1.1 200 OK\r\n" + b"X" * 200):
        self.interval, self.answer = interval, answer
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/ipn"
        self.accepted = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._drip, args=(connection,), daemon=True).start()

    def _drip(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(65536)
                for byte in self.answer:
                    if self.stopped.wait(self.interval):
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return  # the gateway cut it

    def stop(self) -> None:
        self.stopped.set()
        self.server.close()


@pytest.fixture
def dripper():
    made = Dripper()
    yield made
    made.stop()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def deliverer_for(db, clock):
    made = []

    def make(policy: IpnPolicy) -> IpnDeliverer:
        made.append(IpnDeliverer(db.factory, policy, clock=clock, rng=random.Random(3)))
        return made[-1]

    yield make
    for deliverer in made:
        deliverer.close()


def test_private_destinations_are_never_connected_to(make_config, receiver, db, deliverer_for):
    port = receiver.url.split(":")[2].split("/")[0]
    deliverer = deliverer_for(GUARDED)
    for n, url in enumerate(
        [
            receiver.url,
            f"http://localhost:{port}/ipn",  # a name that resolves to loopback
            f"http://0x7f000001:{port}/ipn",  # 127.0.0.1 spelled as one number
            f"http://2130706433:{port}/ipn",
            f"http://[::ffff:127.0.0.1]:{port}/ipn",
            "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
            "http://10.0.0.1:8080/",
        ]
    ):
        transaction_id = add_due(db, make_config(url_ipn=url), reference=f"ssrf-{n}")
        deliverer.deliver(transaction_id)
        (attempt,) = attempts_of(db, transaction_id)
        assert attempt.http_status is None, url
        assert attempt.error == "destination not allowed: not a public address", (url, attempt.error)
        assert ipn_logs(db, transaction_id) == [("ipnfailled", "status 9: " + attempt.error)]
    assert receiver.received == []


def test_a_name_is_checked_where_it_resolves_at_each_attempt(
    make_config, receiver, db, deliverer_for, monkeypatch
):
    """A name that resolved to nothing (or somewhere public) when the URL was saved, and to the
    gateway's own host now (DNS rebinding): the address connected to is checked, not the name."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host == "shop.rebind.test":
            return real("127.0.0.1", port, type=socket.SOCK_STREAM)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    transaction_id = add_due(db, make_config(url_ipn=f"http://shop.rebind.test:{port}/ipn"))
    deliverer_for(GUARDED).deliver(transaction_id)
    assert attempts_of(db, transaction_id)[0].error == "destination not allowed: not a public address"
    assert receiver.received == []
    # The allowance (development, the suite) lets the same IPN through: the guard was the refusal.
    transaction_id = add_due(db, make_config(url_ipn=f"http://shop.rebind.test:{port}/ipn"), reference="ok")
    deliverer_for(IpnPolicy(allow_private=True)).deliver(transaction_id)
    assert attempts_of(db, transaction_id)[0].http_status == 200 and len(receiver.received) == 1


def test_connection_failures_all_read_could_not_connect(make_config, db, deliverer_for):
    """A closed port and an unknown name read the same, with no duration that would tell them apart."""
    deliverer = deliverer_for(IpnPolicy(allow_private=True, timeout=0.5))
    for n, url in enumerate([closed_port_url(), "http://no-such-host.invalid/ipn"]):
        transaction_id = add_due(db, make_config(url_ipn=url), reference=f"down-{n}")
        deliverer.deliver(transaction_id)
        assert ipn_logs(db, transaction_id) == [("ipnfailled", "status 9: could not connect")]


def test_answers_are_stored_short_and_printable(make_config, receiver, db, deliverer_for):
    receiver.statuses = [500]
    receiver.bodies = [b"\x1b[31mred\r\nSet-Cookie: x\x07" + b"y" * 9000]
    transaction_id = add_due(db, make_config())
    deliverer_for(IpnPolicy(allow_private=True)).deliver(transaction_id)
    (attempt,) = attempts_of(db, transaction_id)
    assert attempt.answer.startswith(" [31mred  Set-Cookie: x ")
    assert attempt.answer.isprintable() and len(attempt.answer) <= 1000


def test_an_attempt_has_a_deadline_as_a_whole(dripper):
    """One byte every 0.2 s never trips a 1 s read timeout; the attempt still ends at 1 s."""
    from polybanking.services.ipn.payload import FORM_CONTENT_TYPE
    from polybanking.services.ipn.sender import Delivery

    fields, body = {"postfinance_status": "9"}, b"postfinance_status=9"
    delivery = Delivery(1, dripper.url, fields, body, FORM_CONTENT_TYPE, "msg_1", "t", None, "key")  # type: ignore[arg-type]
    started = time.monotonic()
    result = Sender(timeout=1, allow_private=True).send(delivery, FakeClock().now)
    assert time.monotonic() - started < 3
    assert result.http_status is None and result.error == "no answer within 1 s"


def test_a_dripping_website_does_not_delay_another_websites_ipn(
    make_config, receiver, db, deliverer_for, clock, dripper
):
    """Two queue worker threads: both get an IPN for the dripping website first, then one gets
    another website's. That one arrives within a second or two, not after the drip."""
    policy = IpnPolicy(allow_private=True, timeout=5, schedule=(timedelta(seconds=5),), jitter=0)
    deliverer = deliverer_for(policy)
    slow = make_config(name="Slow", url_ipn=dripper.url)
    slow_ids = [add_due(db, slow, reference=f"slow-{n}") for n in range(2)]
    fast_id = add_due(db, make_config(name="Fast"), reference="fast")
    started = time.monotonic()
    workers = [
        threading.Thread(target=lambda: [deliverer.deliver(slow_ids[0]), deliverer.deliver(fast_id)]),
        threading.Thread(target=lambda: deliverer.deliver(slow_ids[1])),
    ]
    for worker in workers:
        worker.start()
    receiver.wait_for(1, timeout=20)
    assert time.monotonic() - started < 3  # the drip alone would take 40 s
    for worker in workers:
        worker.join(20)
    # The slow website's attempts end at the deadline, and are recorded and counted.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(attempts_of(db, tid) for tid in slow_ids):
        time.sleep(0.1)
    for transaction_id in slow_ids:
        (attempt,) = attempts_of(db, transaction_id)
        assert attempt.error == "no answer within 5 s"
        assert outbox_state(db, transaction_id).attempts == 1
    assert outbox_state(db, fast_id).needed is False


def test_late_results_are_counted_and_the_give_up_holds(make_config, db, clock):
    """Each worker's answer comes after its claim expired and the next worker took over (a website
    slower than the lease): the late results still count, so the IPN is given up on schedule
    instead of being posted again for ever."""
    from polybanking.services.ipn import outbox as ipn_outbox
    from polybanking.services.ipn.sender import AttemptResult

    policy = IpnPolicy(allow_private=True, schedule=(timedelta(seconds=5),), jitter=0)  # two attempts
    transaction_id = add_due(db, make_config())
    stalled, claims = None, 0
    for _ in range(10):
        with db.factory.begin() as session:
            claimed = ipn_outbox.claim(session, clock.now, policy.claim_lease, 10)
        claims += len(claimed)
        if stalled is not None:  # the previous worker's answer, after this one took over
            with db.factory.begin() as session:
                late = AttemptResult(clock.now, 40000, error="no answer within 5 s")
                ipn_outbox.record(session, [(stalled, late)], policy, clock.now)
        if not claimed:
            break
        (stalled,) = claimed
        clock.advance(policy.claim_lease + timedelta(seconds=1))
    state = outbox_state(db, transaction_id)
    assert state.failed is True and state.next_at is None
    # Every post counted; one more than the schedule's at most: it was claimed before the
    # answer that reached the limit came in.
    assert state.attempts == claims <= policy.max_attempts + 1


def test_the_scan_goes_on_with_other_websites_while_one_drips(
    make_config, receiver, db, deliverer_for, clock, dripper
):
    """Issue 18: the dripping website's IPNs are first in the outbox. It gets its share of the
    threads (three of four) for a first batch, then the scan claims none of its IPNs while its
    threads stay stuck, and claims and posts the other website's, batch after batch: all are
    delivered before the first dripping attempt ends."""
    policy = IpnPolicy(allow_private=True, timeout=4, concurrency=4, schedule=(timedelta(hours=1),))
    deliverer = deliverer_for(policy)
    slow = make_config(name="Slow", url_ipn=dripper.url)
    earlier = clock.now - timedelta(seconds=1)
    slow_ids = [add_due(db, slow, reference=f"slow-{n}", now=earlier) for n in range(10)]
    fast = make_config(name="Fast")
    fast_ids = [add_due(db, fast, reference=f"fast-{n}") for n in range(20)]
    scan = threading.Thread(target=lambda: deliverer.deliver_due(budget_seconds=2, batch_size=5), daemon=True)
    scan.start()
    assert len(receiver.wait_for(len(fast_ids), timeout=30)) == len(fast_ids)
    assert not any(attempts_of(db, tid) for tid in slow_ids)  # still dripping: not one has ended
    scan.join(60)
    assert not scan.is_alive()
    for transaction_id in fast_ids:
        assert [a.http_status for a in attempts_of(db, transaction_id)] == [200]
    # The first batch of five was tried, each cut at its deadline and counted; the others were
    # left due (the scan's budget ended while the website dripped), not claimed to wait.
    tried = [tid for tid in slow_ids if attempts_of(db, tid)]
    assert len(tried) == 5  # which five: the outbox's order among IPNs due at the same time
    for transaction_id in tried:
        assert [a.error for a in attempts_of(db, transaction_id)] == ["no answer within 4 s"]
        assert outbox_state(db, transaction_id).attempts == 1
    for transaction_id in set(slow_ids) - set(tried):
        state = outbox_state(db, transaction_id)
        assert state.needed and not state.claimed and state.attempts == 0

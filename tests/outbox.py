"""Helpers for the IPN outbox tests: a fake clock, due transactions, and reading back what happened."""

import socket
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from polybanking.models import IpnAttempt, Transaction, TransactionLog

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


class FakeClock:
    """Injected as the deliverer's ``clock``: time moves only when the test says so."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def to(self, when: datetime) -> None:
        assert when >= self.now, "the fake clock never goes back"
        self.now = when


def add_due(db, config, reference="order-1", status="9", now: datetime = START) -> int:
    """A committed transaction whose IPN is due at ``now`` (as a status change leaves it)."""

    def create(session):
        transaction = Transaction(
            config_id=config.id,
            reference=reference,
            amount=550,
            postfinance_status=status,
            postfinance_id="3000000001",
            internal_status="fb",
            last_postfinance_ipn_date=now,
            ipn_needed=True,
            ipn_next_attempt_at=now,
        )
        session.add(transaction)
        session.flush()
        return transaction.id

    return db.run(create)


def set_status(db, transaction_id: int, status: str, now: datetime) -> None:
    """A new PostFinance status, as services/payments/apply.py writes it (the IPN due again)."""
    from polybanking.services.ipn.payload import mark_due

    def change(session):
        transaction = session.get(Transaction, transaction_id)
        transaction.postfinance_status = status
        transaction.last_postfinance_ipn_date = now
        mark_due(transaction, now)

    db.run(change)


def outbox_state(db, transaction_id: int) -> SimpleNamespace:
    def read(session):
        t = session.get(Transaction, transaction_id)
        return SimpleNamespace(
            needed=t.ipn_needed,
            failed=t.ipn_failed,
            attempts=t.ipn_attempts,
            next_at=t.ipn_next_attempt_at,
            claimed=t.ipn_claim_token is not None,
            last_ipn_date=t.last_ipn_date,
        )

    return db.run(read)


def attempts_of(db, transaction_id: int) -> list[SimpleNamespace]:
    columns = ("attempted_at", "duration_ms", "postfinance_status", "success", "http_status", "error")
    columns += ("answer", "webhook_id")

    def read(session):
        rows = session.scalars(
            select(IpnAttempt).where(IpnAttempt.transaction_id == transaction_id).order_by(IpnAttempt.id)
        )
        return [SimpleNamespace(**{name: getattr(row, name) for name in columns}) for row in rows]

    return db.run(read)


def ipn_logs(db, transaction_id: int) -> list[tuple[str, str]]:
    def read(session):
        rows = session.scalars(
            select(TransactionLog)
            .where(TransactionLog.transaction_id == transaction_id, TransactionLog.log_type.like("ipn%"))
            .order_by(TransactionLog.id)
        )
        return [(row.log_type, row.extra_data) for row in rows]

    return db.run(read)


def closed_port_url() -> str:
    """A loopback URL nobody listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ipn"

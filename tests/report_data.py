"""Transactions for the export and summary tests, placed around month boundaries in Europe/Zurich.

Zurich is UTC+2 in summer (until 25 October 2026) and UTC+1 in winter, so a payment at 23:30 UTC
on 31 October is a November payment there, and one at 22:00 UTC on 30 September an October one.
The expected sums below were worked out by hand from these times, not by the code under test.
"""

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from polybanking.models import Config, Transaction, TransactionLog

PERIOD = ("2026-09-01", "2026-11-30")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# config key, reference, created (UTC), postfinance status, amount (cents)
TRANSACTIONS = [
    ("shop", "a1", utc(2026, 9, 30, 21, 59), "9", 1000),  # 30 Sep 23:59 CEST: September
    ("shop", "a2", utc(2026, 9, 30, 22, 0), "9", 2000),  # 1 Oct 00:00 CEST: October
    ("shop", "a3", utc(2026, 10, 31, 23, 30), "9", 4000),  # 1 Nov 00:30 CET: November
    ("shop", "a4", utc(2026, 10, 31, 22, 30), "9", 8000),  # 31 Oct 23:30 CET: October
    ("shop", "=a5", utc(2026, 10, 15, 12, 0), "5", 16000),  # authorised only: good, not paid
    ("shop", "a6", utc(2026, 10, 16, 12, 0), "1", 32000),  # cancelled
    ("shop", "a7", utc(2026, 10, 17, 12, 0), None, 64000),  # never paid
    ("bar", "b1", utc(2026, 11, 30, 22, 59), "9", 150),  # 30 Nov 23:59 CET: November
    ("bar", "b2", utc(2026, 11, 30, 23, 0), "9", 275),  # 1 Dec 00:00 CET: after the period
    ("bar", "b3", utc(2026, 8, 31, 22, 0), "9", 333),  # 1 Sep 00:00 CEST: September
    ("bar", "b4", utc(2026, 8, 31, 21, 59), "9", 444),  # 31 Aug 23:59 CEST: before the period
    ("club", "c1", utc(2026, 10, 1, 10, 0), "9", 12345),
    ("test", "t1", utc(2026, 10, 2, 10, 0), "9", 99999),  # a config in test mode
]

#: Paid (status 9) per config and Zurich month, September to November, test configs left out.
EXPECTED = {
    "shop": (1000, 10000, 4000),
    "bar": (333, 0, 150),
    "club": (0, 12345, 0),
}
EXPECTED_TEST = {"test": (0, 99999, 0)}
EXPECTED_GROUPS = {"Festival": (1333, 10000, 4150), "": (0, 12345, 0)}
EXPECTED_TOTAL = 27828


def add_report_data(session: Session) -> dict[str, int]:
    """Add the configs and transactions (with a few log lines); returns config ids by key."""
    configs = {
        "shop": Config(name="Ticket shop", group="Festival", test_mode=False),
        "bar": Config(name="Bar", group="Festival", test_mode=False),
        "club": Config(name="Club fees", group="", test_mode=False),
        "test": Config(name="Test shop", group="Festival", test_mode=True),
        "dead": Config(name="Closed shop", group="Festival", test_mode=False, active=False),
    }
    session.add_all(configs.values())
    session.flush()
    for key, reference, created, status, amount in TRANSACTIONS:
        transaction = Transaction(
            config=configs[key],
            reference=reference,
            amount=amount,
            postfinance_status=status,
            creation_date=created,
            internal_status="fb" if status else "cr",
            brand="VISA" if status else "",
            last_postfinance_ipn_date=created if status else None,
        )
        session.add(transaction)
        session.flush()
        # Added out of order: exports list them by time.
        later = created.replace(second=30)
        session.add(
            TransactionLog(
                transaction=transaction, log_type="postfinanceStatus", extra_data=status or "", when=later
            )
        )
        session.add(TransactionLog(transaction=transaction, log_type="created", when=created))
    session.flush()
    return {key: config.id for key, config in configs.items()}

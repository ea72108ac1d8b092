"""What the admin pages list: always limited, in SQL, to the configs the user may see.

A superuser sees every config; anyone else only those they are allowed on. Every query here goes
through ``visible_config_ids``, so a guessed id or reference of another config finds nothing.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from ...models import Config, Transaction, User, config_allowed_users
from ...models.transaction import FORWARDED
from ...platforms.epayment.statuses import GOOD_STATUSES, PENDING_STATUSES, STATUS_TEXT

PAGE_SIZE = 50
NEWEST_FIRST = (Transaction.creation_date.desc(), Transaction.id.desc())
MAX_PAGE = 100_000
SEARCH_MAX_LENGTH = 255

#: Status filters beyond the raw PostFinance codes.
STATUS_GROUPS = {
    "good": "Paid or authorised (5, 9)",
    "refused": "Refused, cancelled or other final status",
    "pending": "Waiting at PostFinance",
    "none": "No answer from PostFinance yet",
    "ipn_failing": "IPN failing",
    "flagged": "Flagged (amount or currency mismatch)",
    "refunded": "Refunded, wholly or in part",
}


def visible_config_ids(user: User) -> Select | None:
    """A subquery of the config ids ``user`` may see, or None for all (superusers)."""
    if user.is_superuser:
        return None
    return select(config_allowed_users.c.config_id).where(config_allowed_users.c.user_id == user.id)


def visible_configs(dbsession: Session, user: User) -> list[Config]:
    query = select(Config).order_by(func.lower(Config.name), Config.id)
    visible = visible_config_ids(user)
    if visible is not None:
        query = query.where(Config.id.in_(visible))
    return list(dbsession.scalars(query))


@dataclass(frozen=True)
class TransactionFilter:
    config_id: int | None = None
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    search: str = ""
    page: int = 1


def _status_clause(status: str):
    failing = and_(Transaction.ipn_needed.is_(True), Transaction.ipn_attempts > 0)
    column = Transaction.postfinance_status
    return {
        "good": column.in_(GOOD_STATUSES),
        "refused": and_(column.is_not(None), column.not_in(GOOD_STATUSES | PENDING_STATUSES)),
        "pending": column.in_(PENDING_STATUSES),
        "none": column.is_(None),
        "ipn_failing": or_(failing, Transaction.ipn_failed.is_(True)),
        "flagged": Transaction.flagged.is_(True),
        "refunded": Transaction.refunded_amount > 0,
    }.get(status, column == status if status in STATUS_TEXT else None)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _conditions(user: User, filters: TransactionFilter, zone: ZoneInfo) -> list:
    conditions = []
    visible = visible_config_ids(user)
    if visible is not None:
        conditions.append(Transaction.config_id.in_(visible))
    if filters.config_id is not None:
        conditions.append(Transaction.config_id == filters.config_id)
    if filters.status:
        clause = _status_clause(filters.status)
        if clause is not None:
            conditions.append(clause)
    if filters.date_from:
        conditions.append(Transaction.creation_date >= _local_midnight(filters.date_from, zone))
    if filters.date_to:
        conditions.append(
            Transaction.creation_date < _local_midnight(filters.date_to + timedelta(days=1), zone)
        )
    if filters.search:
        conditions.append(Transaction.reference.icontains(filters.search, autoescape=True))
    return conditions


@dataclass(frozen=True)
class Page:
    items: list[Transaction]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def search_transactions(dbsession: Session, user: User, filters: TransactionFilter, zone: ZoneInfo) -> Page:
    """One page of matching transactions, newest first; counted and cut in SQL."""
    conditions = _conditions(user, filters, zone)
    total = dbsession.scalar(select(func.count(Transaction.id)).where(*conditions)) or 0
    number = min(max(filters.page, 1), max(1, -(-total // PAGE_SIZE)))
    # Deferred join: the page's ids come from the indexes alone (creation_date, id), so a deep
    # OFFSET walks index entries, not rows; only the 50 rows shown are then read.
    page_ids = (
        select(Transaction.id)
        .where(*conditions)
        .order_by(*NEWEST_FIRST)
        .limit(PAGE_SIZE)
        .offset((number - 1) * PAGE_SIZE)
    )
    query = (
        select(Transaction)
        .options(joinedload(Transaction.config))
        .where(Transaction.id.in_(page_ids.scalar_subquery()))
        .order_by(*NEWEST_FIRST)
    )
    return Page(items=list(dbsession.scalars(query)), total=total, number=number, size=PAGE_SIZE)


@dataclass(frozen=True)
class Attention:
    failing_ipns: list[Transaction]
    failing_ipn_count: int
    stuck: list[Transaction]
    stuck_count: int
    takings: list[tuple[Config, int, int]]  # config, number of payments, cents


STUCK_AFTER = timedelta(hours=1)
ATTENTION_ROWS = 10


def attention(dbsession: Session, user: User, zone: ZoneInfo, now: datetime) -> Attention:
    """The home page: failing IPNs, payments stuck at PostFinance, today's takings per config."""
    visible = visible_config_ids(user)
    scope = [Transaction.config_id.in_(visible)] if visible is not None else []

    def rows(*conditions) -> tuple[list[Transaction], int]:
        count = dbsession.scalar(select(func.count(Transaction.id)).where(*scope, *conditions)) or 0
        query = (
            select(Transaction)
            .options(joinedload(Transaction.config))
            .where(*scope, *conditions)
            .order_by(*NEWEST_FIRST)
            .limit(ATTENTION_ROWS)
        )
        return list(dbsession.scalars(query)), count

    failing, failing_count = rows(_status_clause("ipn_failing"))
    stuck, stuck_count = rows(
        Transaction.creation_date < now - STUCK_AFTER,
        or_(
            and_(Transaction.internal_status == FORWARDED, Transaction.postfinance_status.is_(None)),
            Transaction.postfinance_status.in_(PENDING_STATUSES),
        ),
    )
    midnight = _local_midnight(now.astimezone(zone).date(), zone)
    takings_query = (
        select(Config, func.count(Transaction.id), func.sum(Transaction.amount))
        .join(Transaction, Transaction.config_id == Config.id)
        .where(
            *scope, Transaction.creation_date >= midnight, Transaction.postfinance_status.in_(GOOD_STATUSES)
        )
        .group_by(Config.id)
        .order_by(func.sum(Transaction.amount).desc())
    )
    takings = [(config, count, int(total or 0)) for config, count, total in dbsession.execute(takings_query)]
    return Attention(failing, failing_count, stuck, stuck_count, takings)

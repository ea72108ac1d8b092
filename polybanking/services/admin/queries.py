"""What the admin pages list: always limited, in SQL, to the configs the user may see.

A superuser sees every config; anyone else only those they are allowed on. Every query here goes
through ``visible_config_ids``, so a guessed id or reference of another config finds nothing.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, column, func, select, table, text
from sqlalchemy.orm import Session, joinedload

from ...models import Config, Transaction, User, config_allowed_users
from ...models.meta import REFERENCE_SEARCH_TABLE
from ...models.transaction import FLAGGED, IPN_FAILING, REFUNDED
from ...platforms.epayment.statuses import GOOD_STATUSES, PENDING_STATUSES, STATUS_TEXT

PAGE_SIZE = 50
#: Counting stops there: over a million rows an exact count reads every match on every page, and
#: "more than 10 000" tells an admin as much (the filters narrow it down).
COUNT_LIMIT = 10_000
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
    """The filter's condition; the rare ones are the models' partial indexes' own conditions."""
    column = Transaction.postfinance_status
    return {
        "good": column.in_(GOOD_STATUSES),
        "refused": and_(column.is_not(None), column.not_in(GOOD_STATUSES | PENDING_STATUSES)),
        "pending": column.in_(PENDING_STATUSES),
        "none": column.is_(None),
        "ipn_failing": IPN_FAILING,
        "flagged": FLAGGED,
        "refunded": REFUNDED,
    }.get(status, column == status if status in STATUS_TEXT else None)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _conditions(user: User, filters: TransactionFilter, zone: ZoneInfo, dialect: str) -> list:
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
        conditions.append(Transaction.creation_date >= local_midnight(filters.date_from, zone))
    if filters.date_to:
        conditions.append(
            Transaction.creation_date < local_midnight(filters.date_to + timedelta(days=1), zone)
        )
    if filters.search and dialect == "sqlite":
        # SQLite's LIKE ignores ASCII case, and its lower() folds ASCII only: the same matches as
        # lower() on both sides, without calling lower() a million times.
        conditions.append(Transaction.reference.contains(filters.search, autoescape=True))
    elif filters.search:
        conditions.append(Transaction.reference.icontains(filters.search, autoescape=True))
    return conditions


#: SQLite's FTS5 trigram index of the references (migration 0012_reference_search), when there.
_REFERENCE_SEARCH = table(REFERENCE_SEARCH_TABLE, column("rowid"), column("reference"))
#: The trigram index finds only terms of at least three characters (one trigram).
TRIGRAM = 3


def _sqlite_matches(dbsession: Session, search: str, conditions: list) -> Select:
    """The ids of up to ``COUNT_LIMIT + 1`` matches on SQLite. A term of three characters or more
    is looked up in the trigram index: its phrase query finds every reference containing the term
    in any case (FTS5 folds more than ASCII), and the LIKE among ``conditions`` keeps exactly
    those it would have found alone. Shorter terms, or a database without the index, read every
    reference."""
    ids = select(Transaction.id).where(*conditions).limit(COUNT_LIMIT + 1)
    if len(search) < TRIGRAM or not _has_reference_search(dbsession):
        return ids
    phrase = '"' + search.replace('"', '""') + '"'  # FTS5's string: every character literal
    return ids.join_from(_REFERENCE_SEARCH, Transaction, Transaction.id == _REFERENCE_SEARCH.c.rowid).where(
        _REFERENCE_SEARCH.c.reference.match(phrase)
    )


def _has_reference_search(dbsession: Session) -> bool:
    """Asked each time (one lookup in sqlite_master): a database made without the migrations
    (a benchmark's ``create_all``) has no index, and the search then reads every reference."""
    name = dbsession.scalar(
        text("SELECT name FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": REFERENCE_SEARCH_TABLE},
    )
    return name is not None


def capped_count(dbsession: Session, conditions: list, limit: int = COUNT_LIMIT) -> int:
    """How many transactions match, counting no further than ``limit + 1`` rows."""
    matching = select(Transaction.id).where(*conditions).limit(limit + 1).subquery()
    return dbsession.scalar(select(func.count()).select_from(matching)) or 0


@dataclass(frozen=True)
class Page:
    items: list[Transaction]
    total: int  # with ``more``, a lower bound: the count stopped there
    number: int
    size: int
    has_next: bool = False
    more: bool = False

    @property
    def pages(self) -> int | None:
        """The number of pages, or None when there were too many rows to count."""
        return None if self.more else max(1, -(-self.total // self.size))


def search_transactions(dbsession: Session, user: User, filters: TransactionFilter, zone: ZoneInfo) -> Page:
    """One page of matching transactions, newest first; counted (up to a limit) and cut in SQL."""
    dialect = dbsession.get_bind().dialect.name
    conditions = _conditions(user, filters, zone, dialect)
    if filters.search and dialect == "postgresql":
        # A prepared statement's generic plan cannot see that a pattern is selective, and reads the
        # history newest first instead of the trigram index: plan this request's queries each time.
        dbsession.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    if filters.search and dialect == "sqlite":
        # The matches first (from the trigram index, or one pass over the narrowest index holding
        # the references), then the page is cut among them (not a second pass, newest first).
        found = list(dbsession.scalars(_sqlite_matches(dbsession, filters.search, conditions)))
        total = len(found)
        if total <= COUNT_LIMIT:
            conditions = [Transaction.id.in_(found)]
    else:
        total = capped_count(dbsession, conditions)
    more = total > COUNT_LIMIT
    # Beyond the count, no deeper pages: an OFFSET walks every row it skips (a million for the
    # last page of a million); the filters reach older transactions instead.
    last = max(1, -(-min(total, COUNT_LIMIT) // PAGE_SIZE))
    number = min(max(filters.page, 1), last)
    # Deferred join: the page's ids come from the indexes alone (creation_date, id), so a deep
    # OFFSET walks index entries, not rows; only the rows shown (and one more: is there a next
    # page?) are then read.
    page_ids = (
        select(Transaction.id)
        .where(*conditions)
        .order_by(*NEWEST_FIRST)
        .limit(PAGE_SIZE + 1)
        .offset((number - 1) * PAGE_SIZE)
    )
    query = (
        select(Transaction)
        .options(joinedload(Transaction.config))
        .where(Transaction.id.in_(page_ids.scalar_subquery()))
        .order_by(*NEWEST_FIRST)
    )
    rows = list(dbsession.scalars(query))
    return Page(
        items=rows[:PAGE_SIZE],
        total=min(total, COUNT_LIMIT),
        number=number,
        size=PAGE_SIZE,
        has_next=len(rows) > PAGE_SIZE and number < last,
        more=more,
    )

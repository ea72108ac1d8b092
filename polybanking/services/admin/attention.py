"""The admin home page: what needs attention now, within the configs the user may see.

Failing IPNs and payments stuck at PostFinance are read from their partial indexes (migration
0010_scale) and counted up to ``COUNT_LIMIT``, so the page costs the same over a million payments.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ...models import Config, Transaction, User
from ...models.transaction import AT_POSTFINANCE, IPN_FAILING
from ...platforms.epayment.statuses import GOOD_STATUSES
from .queries import COUNT_LIMIT, NEWEST_FIRST, capped_count, local_midnight, visible_config_ids

STUCK_AFTER = timedelta(hours=1)
ATTENTION_ROWS = 10


@dataclass(frozen=True)
class Attention:
    failing_ipns: list[Transaction]
    failing_ipn_count: int  # up to COUNT_LIMIT + 1 (shown as "more than COUNT_LIMIT")
    stuck: list[Transaction]
    stuck_count: int
    takings: list[tuple[Config, int, int]]  # config, number of payments, cents
    count_limit: int = COUNT_LIMIT


def attention(dbsession: Session, user: User, zone: ZoneInfo, now: datetime) -> Attention:
    """Failing IPNs, payments stuck at PostFinance, today's takings per config."""
    visible = visible_config_ids(user)
    scope = [Transaction.config_id.in_(visible)] if visible is not None else []

    def rows(*conditions) -> tuple[list[Transaction], int]:
        query = (
            select(Transaction)
            .options(joinedload(Transaction.config))
            .where(*scope, *conditions)
            .order_by(*NEWEST_FIRST)
            .limit(ATTENTION_ROWS)
        )
        return list(dbsession.scalars(query)), capped_count(dbsession, [*scope, *conditions])

    failing, failing_count = rows(IPN_FAILING)
    stuck, stuck_count = rows(Transaction.creation_date < now - STUCK_AFTER, AT_POSTFINANCE)
    midnight = local_midnight(now.astimezone(zone).date(), zone)
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

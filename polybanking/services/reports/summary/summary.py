"""The treasurer's summary: money paid per config group, per config, per month, what was
refunded of it and the net (paid less refunded).

A transaction counts as paid when it is (status 9) or was and has been refunded since (the
refunds PolyBanking made, ``refunded_amount``); refunds count in the month the payment does.

Sums stay integer cents from the database to the last step that shows them (:mod:`.money`).
Months are the organisation's (``Period.months``), so a payment made at 23:30 UTC on 31 October
counts for November in Zurich, exactly as the export of the same period shows it.

Which configs appear: every config not in test mode (all with ``include_test``) that is in use or
was paid in the period; a config that is switched off and earned nothing is left out.

A page or a command calls :func:`build_summary`, then shows the plain objects it returns, draws
them with :mod:`.charts`, or writes them with :mod:`.as_pdf` / :mod:`.as_csv`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ....models import Config, Transaction
from ..period import Month, Period, PeriodError

PAID = "9"
#: How the paid transactions themselves are listed: not at all, one list per group, or one list.
TRANSACTION_LISTS = ("none", "grouped", "list")
#: A summary covers at most ten years: one column (and one query) per month.
MAX_MONTHS = 120
NO_GROUP = "(no group)"
ALL_GROUPS = "All"


@dataclass(frozen=True)
class ConfigLine:
    config_id: int
    name: str
    test_mode: bool
    months: tuple[int, ...]  # cents per month of the period
    total: int
    refunded: tuple[int, ...] = ()  # cents refunded per month (of the payments of that month)
    refunded_total: int = 0

    @property
    def net(self) -> int:
        return self.total - self.refunded_total


@dataclass(frozen=True)
class GroupSummary:
    name: str  # "" for configs without a group
    configs: tuple[ConfigLine, ...]
    months: tuple[int, ...]
    total: int
    refunded: tuple[int, ...] = ()
    refunded_total: int = 0

    @property
    def net(self) -> int:
        return self.total - self.refunded_total

    @property
    def label(self) -> str:
        return self.name or NO_GROUP


@dataclass(frozen=True)
class PaidTransaction:
    config_id: int
    config_name: str
    group: str
    reference: str
    created: datetime  # local time of the organisation
    amount: int


@dataclass(frozen=True)
class Summary:
    period: Period
    months: tuple[Month, ...]
    include_test: bool
    groups: tuple[GroupSummary, ...]
    month_totals: tuple[int, ...]
    total: int
    generated_at: datetime  # local time
    transactions_mode: str = "none"
    #: List title (a group's label, or ``All``) → its paid transactions, oldest first.
    transactions: dict[str, list[PaidTransaction]] = field(default_factory=dict)
    month_refunded: tuple[int, ...] = ()
    refunded: int = 0
    #: Cents paid in the period in the test configs left out (a demo's summary is otherwise all
    #: zeros without saying why).
    test_left_out: int = 0

    @property
    def net(self) -> int:
        return self.total - self.refunded


def _paid():
    """Paid, or paid and refunded (by PolyBanking) since."""
    return or_(Transaction.postfinance_status == PAID, Transaction.refunded_amount > 0)


def _columns(lines) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per-month sums of paid and refunded over ``lines`` (configs or groups)."""
    paid = tuple(sum(column) for column in zip(*(line.months for line in lines), strict=True))
    refunded = tuple(sum(column) for column in zip(*(line.refunded for line in lines), strict=True))
    return paid, refunded


def _visible(visible: Select | None) -> list:
    """The condition keeping a user's summary to their configs (none: every config)."""
    return [] if visible is None else [Transaction.config_id.in_(visible)]


def _sums(dbsession: Session, month: Month, visible: Select | None = None) -> dict[int, tuple[int, int]]:
    """Cents paid and refunded per config in ``month``."""
    query = (
        select(Transaction.config_id, func.sum(Transaction.amount), func.sum(Transaction.refunded_amount))
        .where(
            _paid(),
            Transaction.creation_date >= month.period.start_utc,
            Transaction.creation_date < month.period.end_utc,
            *_visible(visible),
        )
        .group_by(Transaction.config_id)
    )
    # int(): PostgreSQL sums BIGINT into NUMERIC (a Decimal here); no float ever holds the money.
    return {
        config_id: (int(total), int(refunded or 0)) for config_id, total, refunded in dbsession.execute(query)
    }


def _transactions(
    dbsession: Session, period: Period, configs: dict[int, Config], mode: str, visible: Select | None = None
) -> dict[str, list[PaidTransaction]]:
    query = (
        select(Transaction.config_id, Transaction.reference, Transaction.creation_date, Transaction.amount)
        .where(
            _paid(),
            Transaction.creation_date >= period.start_utc,
            Transaction.creation_date < period.end_utc,
            *_visible(visible),
        )
        .order_by(Transaction.creation_date, Transaction.id)
    )
    lists: dict[str, list[PaidTransaction]] = {}
    for config_id, reference, created, amount in dbsession.execute(query):
        config = configs.get(config_id)
        if config is None:
            continue
        entry = PaidTransaction(
            config_id, config.name, config.group, reference, period.local(created), amount
        )
        title = (config.group or NO_GROUP) if mode == "grouped" else ALL_GROUPS
        lists.setdefault(title, []).append(entry)
    if mode == "grouped":
        return dict(sorted(lists.items(), key=lambda item: (item[0] == NO_GROUP, item[0])))
    return lists


def build_summary(
    dbsession: Session,
    period: Period,
    include_test: bool = False,
    transactions: str = "none",
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    visible: Select | None = None,
) -> Summary:
    """Sum the paid transactions of ``period`` per group, config and month (one query per month;
    ``progress`` is told how many are done). ``visible``: the config ids a user may see
    (``services.admin.queries.visible_config_ids``), so an admin page shows nobody another's configs;
    None (superusers, the command) for all."""
    if transactions not in TRANSACTION_LISTS:
        raise ValueError(f"transactions must be one of {', '.join(TRANSACTION_LISTS)}")
    months = tuple(period.months())  # configs without a group come last
    if len(months) > MAX_MONTHS:
        raise PeriodError(f"a summary covers at most {MAX_MONTHS} months; choose a shorter period")

    query = select(Config).order_by(Config.group, Config.name, Config.id)
    if not include_test:
        query = query.where(Config.test_mode.is_(False))
    if visible is not None:
        query = query.where(Config.id.in_(visible))
    configs = {config.id: config for config in dbsession.scalars(query)}
    per_month = []
    for month in months:
        per_month.append(_sums(dbsession, month, visible))
        if progress:
            progress(len(per_month))

    groups: dict[str, list[ConfigLine]] = {}
    for config in configs.values():
        cents = tuple(sums.get(config.id, (0, 0))[0] for sums in per_month)
        refunded = tuple(sums.get(config.id, (0, 0))[1] for sums in per_month)
        if not config.usable and not any(cents):
            continue
        line = ConfigLine(
            config.id, config.name, config.test_mode, cents, sum(cents), refunded, sum(refunded)
        )
        groups.setdefault(config.group, []).append(line)

    group_summaries = tuple(
        GroupSummary(
            name,
            tuple(lines),
            _columns(lines)[0],
            sum(line.total for line in lines),
            _columns(lines)[1],
            sum(line.refunded_total for line in lines),
        )
        for name, lines in sorted(groups.items(), key=lambda item: (item[0] == "", item[0]))
    )
    month_totals = tuple(
        sum(group.months[index] for group in group_summaries) for index in range(len(months))
    )
    month_refunded = tuple(
        sum(group.refunded[index] for group in group_summaries) for index in range(len(months))
    )
    left_out = 0
    if not include_test:
        shown_or_live = set(configs)
        left_out = sum(
            cents for sums in per_month for id_, (cents, _r) in sums.items() if id_ not in shown_or_live
        )
    listed = (
        {} if transactions == "none" else _transactions(dbsession, period, configs, transactions, visible)
    )
    return Summary(
        period=period,
        months=months,
        include_test=include_test,
        groups=group_summaries,
        month_totals=month_totals,
        total=sum(month_totals),
        generated_at=(now or datetime.now(UTC)).astimezone(period.tz),
        transactions_mode=transactions,
        transactions=listed,
        month_refunded=month_refunded,
        refunded=sum(month_refunded),
        test_left_out=left_out,
    )

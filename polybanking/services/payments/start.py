"""Starting a payment (PROTOCOL §2); ``forward`` sends the shopper on to the platform (§3)."""

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Row, select
from sqlalchemy.orm import Session

from ...models import Transaction, mark_changed
from ...models.meta import MAX_ROW_ID
from ...models.transaction import REFERENCE_MAX_LENGTH
from ...signing import check_sign
from .config_cache import CONFIG_CACHE, ConfigCache, StartConfig
from .start_sql import CONFIG_FOR_START, CREATE_IF_CONFIG_UNCHANGED, create

log = logging.getLogger(__name__)

SIGNED_FIELDS = ("amount", "reference", "extra_data", "config_id")
MAX_AMOUNT = 10**12  # ten billion francs: beyond any real order, well inside BIGINT
MAX_EXTRA_DATA = 65536
#: What ``generate_token`` makes (URL-safe base64); anything else is not ours and never reaches
#: the database (PostgreSQL refuses NUL characters with an error, not an empty result).
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class StartError(Exception):
    """A refused start; ``status`` is the word of PROTOCOL §2 the website reads."""

    def __init__(self, status: str, reason: str):
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


@dataclass(frozen=True)
class StartedPayment:
    """What the website is told: the ``go`` link is built from the token."""

    id: int
    token: str


def _find_config(connection: Connection, config_id: str) -> StartConfig:
    if not _digits(config_id) or len(config_id) > 18:
        raise StartError("CONFIG_ERROR", "config_id is not a number")
    if int(config_id) > MAX_ROW_ID:
        raise StartError("CONFIG_ERROR", "unknown or disabled config")
    row = connection.execute(CONFIG_FOR_START, {"config_id": int(config_id)}).first()
    if row is None or not (row.active and row.admin_enable):  # Config.usable, from its two columns
        raise StartError("CONFIG_ERROR", "unknown or disabled config")
    return StartConfig(id=int(config_id), key_request=row.key_request, max_amount=row.max_amount)


def _amount(config: StartConfig, raw: str) -> int:
    if not _digits(raw) or len(raw) > 15:
        raise StartError("AMOUNT_ERROR", "amount is not a whole number of cents")
    amount = int(raw)
    if amount <= 0:
        raise StartError("AMOUNT_ERROR", "amount must be positive")
    if amount > (config.max_amount or MAX_AMOUNT):
        raise StartError("AMOUNT_ERROR", "amount above the config's maximum")
    return amount


def _reference(reference: str) -> str:
    if not reference:
        raise StartError("REFERENCE_ERROR", "reference is empty")
    if len(reference) > REFERENCE_MAX_LENGTH:
        raise StartError("REFERENCE_ERROR", "reference is too long")
    if "\x00" in reference:
        raise StartError("REFERENCE_ERROR", "reference contains a NUL character")
    return reference


def _extra_data_ok(extra_data: str) -> bool:
    return len(extra_data) <= MAX_EXTRA_DATA and "\x00" not in extra_data


def _new_values(config: StartConfig, fields: dict[str, str], amount: int, reference: str) -> dict:
    return {
        "new_config_id": config.id,
        "new_reference": reference,
        "new_extra_data": fields["extra_data"],
        "new_amount": amount,
    }


def _start_from_cache(
    connection: Connection, cache: ConfigCache, fields: dict[str, str], sign: str | None
) -> Row | None:
    """The transaction, created with a cached config; None, with nothing written, whenever anything
    is off (no entry, a check fails, the row changed, the reference is taken): the full path then
    decides, and words any refusal in PROTOCOL order."""
    config_id = fields["config_id"]
    config = cache.get(int(config_id)) if _digits(config_id) and len(config_id) <= 18 else None
    if config is None or not check_sign(config.key_request, fields, sign):
        return None
    try:
        amount = _amount(config, fields["amount"])
        reference = _reference(fields["reference"])
    except StartError:
        return None
    if not _extra_data_ok(fields["extra_data"]):
        return None
    values = _new_values(config, fields, amount, reference)
    values |= {"cached_key_request": config.key_request, "cached_max_amount": config.max_amount}
    created = create(connection, values, CREATE_IF_CONFIG_UNCHANGED)
    if created is None:
        cache.drop(config.id)  # maybe only a used reference: the full path reads the row again
    return created


def _start(connection: Connection, cache: ConfigCache, fields: dict[str, str], sign: str | None) -> Row:
    """The full path: read the config (and cache it), check everything, create the transaction."""
    config = _find_config(connection, fields["config_id"])
    cache.put(config)
    if not check_sign(config.key_request, fields, sign):
        raise StartError("KEY_ERROR", "signature does not match")
    amount = _amount(config, fields["amount"])
    reference = _reference(fields["reference"])
    if not _extra_data_ok(fields["extra_data"]):
        # PROTOCOL §2's order: a used reference is reported before bad extra_data.
        taken = connection.scalar(
            select(Transaction.id).where(
                Transaction.config_id == config.id, Transaction.reference == reference
            )
        )
        if taken is not None:
            raise StartError("REFERENCE_ERROR", "reference already used")
        raise StartError("ERROR", "extra_data is too long or contains a NUL character")

    # The unique constraint decides (never a check-then-insert): a used reference, or a concurrent
    # start with the same one, inserts nothing; a start that waits for the other's commit then
    # loses too. One statement instead of a check, a savepoint and an insert: a rush is roundtrips.
    created = create(connection, _new_values(config, fields, amount, reference))
    if created is None:
        raise StartError("REFERENCE_ERROR", "reference already used")
    return created


def start_payment(
    dbsession: Session, params: Mapping[str, str], cache: ConfigCache = CONFIG_CACHE
) -> StartedPayment:
    """Check a website's signed request in PROTOCOL order and create the transaction.

    Core statements on the request's connection, not ORM objects: the same rows and the same
    transaction (committed by pyramid_tm), at a fraction of the CPU, which is what a rush is made of.
    With the config in ``cache``, the config's read is folded into the INSERT (config_cache.py).
    """
    connection = dbsession.connection()
    fields = {name: params.get(name, "") for name in SIGNED_FIELDS}
    sign = params.get("sign")
    created = _start_from_cache(connection, cache, fields, sign) or _start(connection, cache, fields, sign)
    mark_changed(dbsession)  # Core writes: pyramid_tm must commit, not roll back
    return StartedPayment(id=created.id, token=created.token)

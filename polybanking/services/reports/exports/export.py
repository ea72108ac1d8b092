"""Exports of transactions (CSV, JSON, XML, Excel) for accountants, streamed.

What is exported: the transactions of one config or of all (the caller decides who may ask for
all: superusers on the admin pages, anyone at the command line), created within a period of local
days, optionally only the good ones (status 5 or 9), oldest first. Rows are read in batches and
the file goes out in chunks, so memory stays flat whatever the number of rows.

A page or a command calls :func:`build_spec` (checks the request), then :func:`filename`,
:func:`content_type` and :func:`stream` (an iterator of bytes, fit for a streamed HTTP response);
:func:`count` tells a progress bar how many rows to expect. The request's types are in
:mod:`.spec`, reading in :mod:`.rows`, the formats in :mod:`.writers` and :mod:`.xlsx`.
"""

from collections.abc import Iterator

from sqlalchemy import Select, select
from sqlalchemy.engine import Engine

from ....models import Config
from ....models.meta import MAX_ROW_ID
from ..period import Period
from .rows import count  # noqa: F401 (part of this module's interface, for progress bars)
from .spec import (  # noqa: F401 (part of this module's interface)
    FORMATS,
    ExportError,
    ExportSpec,
    Progress,
    content_type,
    filename,
)
from .writers import WRITERS


def build_spec(
    dbsession,
    format: str,
    period: Period,
    config_id: int | None,
    only_good: bool = False,
    visible: Select | None = None,
) -> ExportSpec:
    """Check ``format`` and ``config_id`` (``None``: every config) against the database.

    ``visible``: the config ids the asking user may see (``services.admin.queries.visible_config_ids``;
    None: all). A config outside it is "no config", and all configs need ``visible`` None: the
    admin pages' ACLs refuse both first, this keeps a slip there from exporting anything.
    """
    if format not in FORMATS:
        raise ExportError(f"unknown format {format!r}; one of {', '.join(FORMATS)}")
    query = select(Config.id, Config.name).order_by(Config.id)
    if visible is not None:
        if config_id is None:
            raise ExportError("only superusers may export all configs")
        query = query.where(Config.id.in_(visible))
    if config_id is not None:
        if not 0 < config_id <= MAX_ROW_ID:
            raise ExportError(f"no config with id {config_id}")
        query = query.where(Config.id == config_id)
    configs = {id_: name for id_, name in dbsession.execute(query)}
    if config_id is not None and not configs:
        raise ExportError(f"no config with id {config_id}")
    return ExportSpec(format, period, config_id, configs, only_good)


def stream(engine: Engine, spec: ExportSpec, progress: Progress | None = None) -> Iterator[bytes]:
    """The export file, in chunks; ``progress`` is called with the number of rows written so far.

    Each batch takes a connection of the engine's pool for one short transaction, so the stream
    can be an HTTP response's body, sent after the request's own transaction has ended. On SQLite
    it must not be consumed while the same thread holds a transaction open (it would wait for it).
    """
    yield from WRITERS[spec.format](engine, spec, progress or (lambda _done: None))

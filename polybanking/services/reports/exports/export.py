"""Exports of transactions (CSV, JSON, XML, Excel) for accountants, streamed.

What is exported: the transactions of one config or of all (the caller decides who may ask for
all: superusers on the admin pages, anyone at the command line), created within a period of local
days, optionally only the good ones (status 5 or 9), oldest first. Rows are read in batches and
the file goes out in chunks, so memory stays flat whatever the number of rows.

A page or a command calls :func:`build_spec` (checks the request), then :func:`filename`,
:func:`content_type` and :func:`stream` (an iterator of bytes, fit for a streamed HTTP response);
:func:`count` tells a progress bar how many rows to expect. Reading is in :mod:`.export_rows`,
the formats in :mod:`.export_writers` and :mod:`.export_xlsx`.
"""

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.engine import Engine

from ..models import Config
from ..models.meta import MAX_ROW_ID
from .export_rows import count  # noqa: F401 (part of this module's interface, for progress bars)
from .period import Period

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xml": "application/xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

Progress = Callable[[int], None]


class ExportError(ValueError):
    """A request that cannot be exported (unknown format or config); the message is for people."""


@dataclass(frozen=True)
class ExportSpec:
    """A checked export request. ``configs`` maps id → name of the configs in the file (all of them
    when ``all_configs``), so rows can name their config without a join."""

    format: str
    period: Period
    config_id: int | None
    configs: dict[int, str]
    only_good: bool = False

    @property
    def all_configs(self) -> bool:
        return self.config_id is None


def build_spec(
    dbsession,
    format: str,
    period: Period,
    config_id: int | None,
    only_good: bool = False,
    visible: Select | None = None,
) -> ExportSpec:
    """Check ``format`` and ``config_id`` (``None``: every config) against the database.

    ``visible``: the config ids the asking user may see (``admin_queries.visible_config_ids``;
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


def _slug(name: str) -> str:
    """A config name made safe for a file name (and a Content-Disposition header): ASCII letters,
    digits, ``-``, ``_`` and ``.``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", ascii_name).strip("-.")[:80]


def filename(spec: ExportSpec) -> str:
    """``Export_<config|ALL>_<start>_<end>.<ext>``: what the file holds, in its name."""
    if spec.all_configs:
        who = "ALL"
    else:
        assert spec.config_id is not None
        who = _slug(spec.configs[spec.config_id]) or f"config-{spec.config_id}"
    return f"Export_{who}_{spec.period.start.isoformat()}_{spec.period.end.isoformat()}.{spec.format}"


def content_type(spec: ExportSpec) -> str:
    return FORMATS[spec.format]


def stream(engine: Engine, spec: ExportSpec, progress: Progress | None = None) -> Iterator[bytes]:
    """The export file, in chunks; ``progress`` is called with the number of rows written so far.

    Each batch takes a connection of the engine's pool for one short transaction, so the stream
    can be an HTTP response's body, sent after the request's own transaction has ended. On SQLite
    it must not be consumed while the same thread holds a transaction open (it would wait for it).
    """
    from .export_writers import WRITERS  # the writers import this module's types

    yield from WRITERS[spec.format](engine, spec, progress or (lambda _done: None))

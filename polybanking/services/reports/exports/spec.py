"""An export request, checked: the types every part of an export shares, and its file's name.

Its own module so that the export's entry point, the rows, the writers and the Excel writer all
import it, and none of them each other in a circle.
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from ..period import Period

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

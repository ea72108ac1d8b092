"""One JSON object per log line, for production's stderr (journald, then any log shipper).

A line a machine can parse whatever the message holds (quotes, newlines, a traceback):
``{"time": "2026-11-27T10:15:00.123Z", "level": "INFO", "logger": "polybanking...", "message": ...}``
plus ``exception`` when there is one. Used from production.ini's ``[formatter_json]``.
"""

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """``logging.Formatter`` whose output is a single-line JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)

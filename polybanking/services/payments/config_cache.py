"""A per-process cache of what a start reads of its config: a rush reads the same row thousands of
times a second (issue 18: measured at +12% of starts per second).

An entry is only ever a guess. A start that uses one inserts its transaction with a conditional
INSERT that writes nothing unless the config row still has the cached key and maximum and is still
active and enabled (``services/payments/start.py``); when it writes nothing, the entry is dropped and
the start takes the full path, which reads the row. So a stale entry costs a roundtrip, and never
accepts a disabled config, an old key or an amount above a lowered maximum.
"""

from dataclasses import dataclass

#: More configs than any organisation has; beyond it the cache starts again from empty.
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class StartConfig:
    """The config's columns a start needs (the row was active and admin-enabled when read)."""

    id: int
    key_request: str
    max_amount: int | None


class ConfigCache:
    """{config id: StartConfig}; plain dict operations, atomic under the GIL for waitress threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: dict[int, StartConfig] = {}
        self._max_entries = max_entries

    def get(self, config_id: int) -> StartConfig | None:
        return self._entries.get(config_id)

    def put(self, config: StartConfig) -> None:
        if len(self._entries) >= self._max_entries and config.id not in self._entries:
            self._entries.clear()
        self._entries[config.id] = config

    def drop(self, config_id: int) -> None:
        self._entries.pop(config_id, None)


#: The process's cache (each waitress or worker process has its own).
CONFIG_CACHE = ConfigCache()
